//! Arguments in (JSON text, a file or stdin, turned into the wire bytes of a serialize type)
//! and replies out (wire bytes shown as JSON).

use crate::args::Serialize;
use anyhow::Context as _;
use bytes::Bytes;
use fastrpc::SerializeType;
use serde_json::Value;
use std::io::Read;

/// The bytes the user gave: the text itself, `@FILE`'s content, or stdin for `-`.
pub(crate) fn read_source(arg: &str) -> anyhow::Result<Vec<u8>> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the argument from stdin")?;
        Ok(buf)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read(path).with_context(|| format!("reading the argument from {path}"))
    } else {
        Ok(arg.as_bytes().to_vec())
    }
}

/// The serialize type sent on the wire.
pub(crate) fn serialize_type(s: Serialize) -> SerializeType {
    match s {
        Serialize::Json => SerializeType::JSON,
        Serialize::Msgpack => SerializeType::MSGPACK,
        Serialize::Raw => SerializeType::NONE,
        Serialize::Protobuf => SerializeType::PROTOBUF,
    }
}

/// The request payload for `source` sent as `s`: JSON is checked, MessagePack is converted
/// from JSON, raw and protobuf bytes go as they are.
pub(crate) fn encode_args(s: Serialize, source: &[u8]) -> anyhow::Result<Bytes> {
    match s {
        Serialize::Json | Serialize::Msgpack => {
            let value: Value =
                serde_json::from_slice(source).context("the argument is not valid JSON")?;
            if s == Serialize::Json {
                Ok(Bytes::from(serde_json::to_vec(&value)?))
            } else {
                Ok(Bytes::from(rmp_serde::to_vec_named(&value)?))
            }
        }
        Serialize::Raw | Serialize::Protobuf => Ok(Bytes::copy_from_slice(source)),
    }
}

/// A reply payload of serialize type `st` as JSON: JSON and MessagePack decoded, other bytes
/// as a string when they are UTF-8 text, else as `{"hex": ".."}`.
pub(crate) fn decode_reply(st: SerializeType, payload: &[u8]) -> Value {
    if payload.is_empty() {
        return Value::Null;
    }
    match st {
        SerializeType::JSON => serde_json::from_slice(payload).unwrap_or_else(|_| opaque(payload)),
        SerializeType::MSGPACK => {
            rmp_serde::from_slice::<Value>(payload).unwrap_or_else(|_| opaque(payload))
        }
        SerializeType::PROTOBUF => serde_json::json!({ "hex": hex(payload) }),
        _ => opaque(payload),
    }
}

/// Bytes that do not decode: a string when they are UTF-8 text, else hex.
pub(crate) fn opaque(payload: &[u8]) -> Value {
    match std::str::from_utf8(payload) {
        Ok(s) if !s.chars().any(|c| c.is_control() && !c.is_whitespace()) => {
            Value::String(s.to_owned())
        }
        _ => serde_json::json!({ "hex": hex(payload) }),
    }
}

/// Lower-case hex of `b`.
pub(crate) fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_round_trips_json() {
        let wire = encode_args(Serialize::Msgpack, br#"{"A":2,"B":[1,"x"]}"#).unwrap();
        assert_eq!(
            decode_reply(SerializeType::MSGPACK, &wire),
            serde_json::json!({"A":2,"B":[1,"x"]})
        );
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(encode_args(Serialize::Json, b"{nope").is_err());
    }

    #[test]
    fn binary_is_hex() {
        assert_eq!(
            decode_reply(SerializeType::NONE, &[0, 1, 0xff]),
            serde_json::json!({"hex": "0001ff"})
        );
        assert_eq!(decode_reply(SerializeType::NONE, b"hi"), "hi");
    }
}
