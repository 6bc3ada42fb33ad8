//! rpcx's mDNS TXT layout (`rpcx-protocol.md` §5.5): one TXT string holding
//! `url.QueryEscape(json.Marshal([]serviceMeta))`.

use std::fmt::Write;

/// The service name Go rpcx passes to zeroconf, and fastrpc's default: on the wire the type
/// is `_rpcxservices.local.` (no `_tcp` label).
pub const SERVICE_TYPE: &str = "_rpcxservices";

/// The RFC 6763 form (`_rpcxservices._tcp.local.`), which fastrpc used before it met Go;
/// available through [`MdnsOptions::service`](crate::MdnsOptions::service).
pub const SERVICE_TYPE_TCP: &str = "_rpcxservices._tcp";

/// The most bytes of one TXT string (its length is one byte).
pub const TXT_MAX: usize = 255;

/// One advertised service: Go's `serviceMeta{Service, Meta, ServiceAddress}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ServiceMeta {
    /// The service name.
    #[serde(default)]
    pub service: String,
    /// The metadata query.
    #[serde(default)]
    pub meta: String,
    /// The server key, `network@host:port`.
    #[serde(default)]
    pub service_address: String,
}

/// Go's `json.Marshal` of `[]*serviceMeta` (fields `omitempty`, HTML-safe escaping).
pub fn go_json(services: &[ServiceMeta]) -> String {
    let mut out = String::from("[");
    for (i, s) in services.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        let mut first = true;
        for (name, value) in [
            ("service", &s.service),
            ("meta", &s.meta),
            ("service_address", &s.service_address),
        ] {
            if value.is_empty() {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "\"{name}\":");
            go_json_string(&mut out, value);
        }
        out.push('}');
    }
    out.push(']');
    out
}

/// The TXT string Go writes for `services`.
pub fn txt_for(services: &[ServiceMeta]) -> String {
    query_escape(&go_json(services))
}

/// Decodes one TXT string as Go's discovery does; `None` when it is not rpcx's layout.
pub fn parse_txt(txt: &str) -> Option<Vec<ServiceMeta>> {
    let json = query_unescape(txt)?;
    serde_json::from_str::<Option<Vec<ServiceMeta>>>(&json)
        .ok()
        .map(Option::unwrap_or_default)
}

pub use fastrpc_discovery::{query_escape, query_unescape};

fn go_json_string(out: &mut String, s: &str) {
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

/// Splits `services` into groups whose TXT string fits in [`TXT_MAX`] bytes, in order (Go
/// puts them all in one string and fails beyond 255 bytes; each group becomes its own
/// instance, which Go's discovery reads the same way). `Err` names a service too large alone.
pub fn split_for_txt(services: &[ServiceMeta]) -> Result<Vec<Vec<ServiceMeta>>, String> {
    let mut groups: Vec<Vec<ServiceMeta>> = Vec::new();
    let mut current: Vec<ServiceMeta> = Vec::new();
    for s in services {
        current.push(s.clone());
        if txt_for(&current).len() > TXT_MAX {
            current.pop();
            if current.is_empty() {
                return Err(format!(
                    "service `{}` alone needs a TXT string longer than {TXT_MAX} bytes",
                    s.service
                ));
            }
            groups.push(std::mem::take(&mut current));
            current.push(s.clone());
        }
    }
    if !current.is_empty() || groups.is_empty() {
        groups.push(current);
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(service: &str, meta: &str, addr: &str) -> ServiceMeta {
        ServiceMeta {
            service: service.into(),
            meta: meta.into(),
            service_address: addr.into(),
        }
    }

    #[test]
    fn txt_is_go_query_escaped_json() {
        let s = [meta("Arith", "weight=10&group=g1", "tcp@127.0.0.1:8972")];
        assert_eq!(
            go_json(&s),
            r#"[{"service":"Arith","meta":"weight=10\u0026group=g1","service_address":"tcp@127.0.0.1:8972"}]"#
        );
        // What Go's url.QueryEscape(string(json.Marshal(services))) gives.
        let txt = "%5B%7B%22service%22%3A%22Arith%22%2C%22meta%22%3A%22weight%3D10%5Cu0026group%3Dg1%22%2C%22service_address%22%3A%22tcp%40127.0.0.1%3A8972%22%7D%5D";
        assert_eq!(txt_for(&s), txt);
        assert_eq!(parse_txt(txt).unwrap(), s);
        // omitempty: an empty meta is left out; an empty list is `[]`.
        assert_eq!(
            go_json(&[meta("A", "", "tcp@h:1")]),
            r#"[{"service":"A","service_address":"tcp@h:1"}]"#
        );
        assert_eq!(txt_for(&[]), "%5B%5D");
        assert_eq!(query_escape("a b+c"), "a+b%2Bc");
        assert_eq!(query_unescape("a+b%2Bc").as_deref(), Some("a b+c"));
        assert_eq!(query_unescape("%zz"), None);
        assert_eq!(parse_txt("null"), Some(vec![]));
        assert_eq!(parse_txt("garbage"), None);
    }

    #[test]
    fn long_lists_are_split_into_txt_sized_groups() {
        let services: Vec<ServiceMeta> = (0..5)
            .map(|i| meta(&format!("Service{i}"), "weight=1", "tcp@127.0.0.1:8972"))
            .collect();
        let groups = split_for_txt(&services).unwrap();
        assert!(groups.len() > 1);
        assert_eq!(groups.concat(), services);
        assert!(groups.iter().all(|g| txt_for(g).len() <= TXT_MAX));
        let huge = [meta("X", &"w".repeat(300), "tcp@h:1")];
        assert!(split_for_txt(&huge).is_err());
    }
}
