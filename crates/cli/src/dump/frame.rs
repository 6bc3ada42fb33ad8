//! One decoded frame as a line: JSON for scripts, a compact text form for people.

use crate::call::metadata_json;
use crate::payload::decode_reply;
use fastrpc::protocol::{Message, MessageType};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Direction {
    fn arrow(self) -> &'static str {
        match self {
            Direction::ToServer => "->",
            Direction::ToClient => "<-",
        }
    }
}

/// Requests in flight on one connection, so that a reply can be named and filtered by the
/// method it answers. Bounded: beyond [`MAX_PENDING`] entries the oldest names are dropped.
#[derive(Default)]
pub(crate) struct Pending {
    names: HashMap<u64, String>,
}

/// At most this many request names are remembered per connection.
const MAX_PENDING: usize = 4096;

impl Pending {
    /// The `Service.Method` of `m`: its own, or for a reply without one, its request's.
    pub(crate) fn name_of(&mut self, m: &Message) -> String {
        let own = format!("{}.{}", m.service_path, m.service_method);
        if m.header.is_heartbeat() {
            return String::new();
        }
        match m.header.message_type() {
            MessageType::Request => {
                if !m.header.is_oneway() {
                    if self.names.len() >= MAX_PENDING {
                        self.names.clear();
                    }
                    self.names.insert(m.header.seq, own.clone());
                }
                own
            }
            _ => {
                let asked = self.names.remove(&m.header.seq);
                if m.service_path.is_empty() {
                    asked.unwrap_or_default()
                } else {
                    own
                }
            }
        }
    }
}

/// The JSON form of a frame.
pub(crate) fn frame_json(conn: u64, dir: Direction, name: &str, m: &Message) -> Value {
    let h = &m.header;
    let kind = if h.is_heartbeat() {
        "heartbeat"
    } else if h.message_type() == MessageType::Request {
        "request"
    } else {
        "response"
    };
    json!({
        "conn": conn,
        "dir": dir.arrow(),
        "seq": h.seq,
        "kind": kind,
        "oneway": h.is_oneway(),
        "error": h.is_error(),
        "serialize": h.serialize_type().value(),
        "gzip": h.compress_type().value() == 1,
        "method": name,
        "metadata": metadata_json(&m.metadata),
        "payload": decode_reply(h.serialize_type(), &m.payload),
    })
}

/// The one-line text form of a frame.
pub(crate) fn frame_text(v: &Value) -> String {
    let mut flags = String::new();
    for f in ["oneway", "error", "gzip"] {
        if v[f] == true {
            flags.push(' ');
            flags.push_str(f);
        }
    }
    format!(
        "#{} {} seq={} {} {}{} ser={} meta={} payload={}",
        v["conn"],
        v["dir"].as_str().unwrap_or_default(),
        v["seq"],
        v["kind"].as_str().unwrap_or_default(),
        v["method"].as_str().unwrap_or_default(),
        flags,
        v["serialize"],
        v["metadata"],
        v["payload"]
    )
}

/// True when the frame named `name` passes `filter` (`Service` or `Service.Method`; `None`
/// passes everything).
pub(crate) fn passes(filter: Option<&str>, name: &str) -> bool {
    match filter {
        None => true,
        Some(f) => name == f || name.strip_prefix(f).is_some_and(|r| r.starts_with('.')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_by_service_or_method() {
        assert!(passes(None, ""));
        assert!(passes(Some("Arith"), "Arith.Mul"));
        assert!(passes(Some("Arith.Mul"), "Arith.Mul"));
        assert!(!passes(Some("Arith.Add"), "Arith.Mul"));
        assert!(!passes(Some("Ari"), "Arith.Mul"));
    }
}
