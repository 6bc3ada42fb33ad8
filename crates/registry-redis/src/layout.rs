//! rpcx's Redis layout (`rpcx-protocol.md` §5.4): key normalisation and the JSON KVPair value.
//!
//! libkv's Redis store keys every entry `"/" + key` without stripping a leading slash (so the
//! base path `/rpcx_test` gives keys starting `//rpcx_test/`), and stores not the raw value
//! but Go's `json.Marshal` of `store.KVPair{Key, Value []byte, LastIndex uint64}`: the key as
//! passed (un-normalised), the value in standard base64, and the nanosecond of the second
//! the value was written.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::fmt::Write;

/// Placeholder value of the base path "directory" key.
pub(crate) const BASE_DIR_VALUE: &str = "rpcx_path";

/// libkv's `store.Normalize`: `"/" + key`, with no other change (the double-slash quirk).
pub(crate) fn normalize(key: &str) -> String {
    format!("/{key}")
}

/// The un-normalised key of a server entry: `{base}/{service}/{server_key}`.
pub(crate) fn entry_key(base: &str, service: &str, server_key: &str) -> String {
    format!("{base}/{service}/{server_key}")
}

/// The un-normalised key of a service "directory": `{base}/{service}`.
pub(crate) fn service_key(base: &str, service: &str) -> String {
    format!("{base}/{service}")
}

/// Go's `json.Marshal(store.KVPair{...})` for `key`, `value`, `last_index`, byte for byte:
/// `{"Key":"...","Value":"<base64>","LastIndex":N}`.
pub(crate) fn encode_kv_pair(key: &str, value: &[u8], last_index: u64) -> String {
    let mut out = String::with_capacity(key.len() + value.len() * 4 / 3 + 48);
    out.push_str("{\"Key\":");
    go_json_string(&mut out, key);
    out.push_str(",\"Value\":\"");
    STANDARD.encode_string(value, &mut out);
    let _ = write!(out, "\",\"LastIndex\":{last_index}}}");
    out
}

/// The `LastIndex` libkv writes: the nanosecond of the current second.
pub(crate) fn last_index_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0)
}

/// A decoded libkv KVPair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KvPair {
    /// The key as the writer passed it (un-normalised).
    pub(crate) key: String,
    /// The value bytes (base64-decoded).
    pub(crate) value: Vec<u8>,
}

#[derive(serde::Deserialize)]
struct RawPair {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: Option<String>,
}

/// Decodes a stored value; `None` when it is not a libkv KVPair (it is then ignored).
pub(crate) fn decode_kv_pair(json: &[u8]) -> Option<KvPair> {
    let raw: RawPair = serde_json::from_slice(json).ok()?;
    let value = match raw.value {
        Some(b64) => STANDARD.decode(b64.as_bytes()).ok()?,
        None => Vec::new(),
    };
    Some(KvPair {
        key: raw.key,
        value,
    })
}

/// The server key of a listed entry: its un-normalised `key` with the listed directory
/// stripped, whether or not either has a leading `/` (rpcx's discovery does the same). `None`
/// for the directory itself and for keys not under `dir/` (a prefix scan of `Arith` also
/// matches `ArithX/...`, which rpcx's Go client wrongly keeps).
pub(crate) fn server_key_of<'a>(dir: &str, key: &'a str) -> Option<&'a str> {
    let dir = dir.strip_prefix('/').unwrap_or(dir);
    let key = key.strip_prefix('/').unwrap_or(key);
    key.strip_prefix(dir)?
        .strip_prefix('/')
        .filter(|rest| !rest.is_empty())
}

/// Escapes Redis glob characters so that a key is matched literally in a pattern.
pub(crate) fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends `s` as a JSON string the way Go's `encoding/json` writes it (HTML-safe: `<`, `>`
/// and `&` as `\u003c`, `\u003e`, `\u0026`; U+2028 and U+2029 escaped; control characters
/// as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00xx`).
pub(crate) fn go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_libkv_normalisation() {
        let key = entry_key("/rpcx_test", "Arith", "tcp@127.0.0.1:8972");
        assert_eq!(key, "/rpcx_test/Arith/tcp@127.0.0.1:8972");
        assert_eq!(normalize(&key), "//rpcx_test/Arith/tcp@127.0.0.1:8972");
        assert_eq!(normalize("rpcx_test"), "/rpcx_test");
    }

    #[test]
    fn value_is_go_json_of_a_kv_pair() {
        // What Go's json.Marshal(store.KVPair{...}) writes for these fields.
        assert_eq!(
            encode_kv_pair(
                "/rpcx_test/Arith/tcp@127.0.0.1:8972",
                b"weight=10&group=g1",
                42
            ),
            r#"{"Key":"/rpcx_test/Arith/tcp@127.0.0.1:8972","Value":"d2VpZ2h0PTEwJmdyb3VwPWcx","LastIndex":42}"#
        );
        assert_eq!(
            encode_kv_pair("a<b>&\"\\\n\u{1}\u{2028}", b"", 0),
            r#"{"Key":"a\u003cb\u003e\u0026\"\\\n\u0001\u2028","Value":"","LastIndex":0}"#
        );
        let pair = decode_kv_pair(
            br#"{"Key":"/rpcx_test/Arith/tcp@h:1","Value":"d2VpZ2h0PTE=","LastIndex":7}"#,
        )
        .unwrap();
        assert_eq!(pair.key, "/rpcx_test/Arith/tcp@h:1");
        assert_eq!(pair.value, b"weight=1");
        assert!(decode_kv_pair(b"weight=1").is_none());
        assert!(decode_kv_pair(br#"{"Key":"k","Value":"%%"}"#).is_none());
        assert_eq!(
            decode_kv_pair(br#"{"Key":"k","Value":null}"#)
                .unwrap()
                .value,
            b""
        );
    }

    #[test]
    fn server_keys_are_stripped_like_rpcx() {
        let dir = "/rpcx_test/Arith";
        assert_eq!(
            server_key_of(dir, "/rpcx_test/Arith/tcp@h:1"),
            Some("tcp@h:1")
        );
        assert_eq!(
            server_key_of(dir, "rpcx_test/Arith/unix@/tmp/s"),
            Some("unix@/tmp/s")
        );
        assert_eq!(server_key_of(dir, "/rpcx_test/Arith"), None);
        assert_eq!(server_key_of(dir, "/rpcx_test/ArithX/tcp@h:1"), None);
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
