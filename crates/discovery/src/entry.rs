//! One discovered server: its `network@addr` key and its URL-query metadata.

use std::fmt;

/// A server as discovery reports it: the key rpcx registries store (`tcp@10.0.0.5:8972`) and
/// the metadata value (a URL query such as `weight=10&group=g1&state=active`).
///
/// The query is parsed once, when the entry is made; lookups are then cheap. Repeated keys
/// (`group=a&group=b`) are kept in order.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerEntry {
    key: String,
    raw_metadata: String,
    pairs: Vec<(String, String)>,
}

impl ServerEntry {
    /// An entry for `key` (`network@addr`) with the metadata query `metadata` (may be empty).
    pub fn new(key: impl Into<String>, metadata: impl Into<String>) -> ServerEntry {
        let raw_metadata = metadata.into();
        let pairs = parse_query(&raw_metadata);
        ServerEntry {
            key: key.into(),
            raw_metadata,
            pairs,
        }
    }

    /// The server key, `network@addr`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The metadata query exactly as discovery gave it.
    pub fn raw_metadata(&self) -> &str {
        &self.raw_metadata
    }

    /// The first value of the metadata key `name`, percent-decoded.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the metadata key `name`, in order (`group` may repeat).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `weight` used by weighted round robin: the metadata value, or 1 when it is missing
    /// or not a positive integer (as rpcx does).
    pub fn weight(&self) -> u32 {
        self.get("weight")
            .and_then(|w| w.trim().parse::<u32>().ok())
            .filter(|w| *w > 0)
            .unwrap_or(1)
    }

    /// True when the metadata says `state=inactive`: discovery then hides the server.
    pub fn is_inactive(&self) -> bool {
        self.get_all("state").any(|s| s == "inactive")
    }

    /// True when one of the `group` values equals `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.get_all("group").any(|g| g == group)
    }

    /// The `latitude` and `longitude` metadata, in degrees, when both are present and numeric.
    pub fn position(&self) -> Option<(f64, f64)> {
        let lat = self.get("latitude")?.trim().parse::<f64>().ok()?;
        let lon = self.get("longitude")?.trim().parse::<f64>().ok()?;
        Some((lat, lon))
    }
}

impl fmt::Debug for ServerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}?{}", self.key, self.raw_metadata)
    }
}

/// Parses `a=1&b=x%20y` like Go's `url.ParseQuery`, leniently: bad escapes are kept verbatim.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split(['&', ';'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rpcx_metadata() {
        let e = ServerEntry::new(
            "tcp@127.0.0.1:8972",
            "weight=10&group=g1&group=g%202&state=active&latitude=39.9&longitude=116.4",
        );
        assert_eq!(e.key(), "tcp@127.0.0.1:8972");
        assert_eq!(e.weight(), 10);
        assert!(e.in_group("g1") && e.in_group("g 2") && !e.in_group("g3"));
        assert!(!e.is_inactive());
        assert_eq!(e.position(), Some((39.9, 116.4)));
        assert!(ServerEntry::new("tcp@a:1", "state=inactive").is_inactive());
        assert_eq!(ServerEntry::new("tcp@a:1", "weight=x").weight(), 1);
        assert_eq!(ServerEntry::new("tcp@a:1", "weight=0").weight(), 1);
        assert_eq!(ServerEntry::new("tcp@a:1", "").get("weight"), None);
        assert_eq!(
            ServerEntry::new("tcp@a:1", "a=%zz%4").get("a"),
            Some("%zz%4")
        );
    }
}
