//! A whole rpcx message and its encoding.

use crate::compress::{self, CompressType};
use crate::header::{Header, MessageStatusType, MessageType, SerializeType};
use crate::{ByteStr, Metadata, ProtocolError, keys};
use bytes::{BufMut, Bytes, BytesMut};

/// One rpcx message: a request, a response, a heartbeat or a server push.
///
/// `payload` always holds the *uncompressed* bytes: [`FrameDecoder`](crate::FrameDecoder)
/// decompresses on receive, and [`Message::encode`] compresses when the header's compress type
/// says so. The header keeps the bits as they were on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Flags, serialize type and sequence number.
    pub header: Header,
    /// The service name (`Arith`).
    pub service_path: ByteStr,
    /// The method name (`Mul`).
    pub service_method: ByteStr,
    /// Metadata pairs.
    pub metadata: Metadata,
    /// The payload, uncompressed.
    pub payload: Bytes,
}

impl Message {
    /// A normal request for `path.method` with an empty payload, seq 0, serialize type none.
    pub fn request(path: impl Into<ByteStr>, method: impl Into<ByteStr>) -> Message {
        Message {
            service_path: path.into(),
            service_method: method.into(),
            ..Message::default()
        }
    }

    /// The reply to `req`, built as Go's server does: the request header with the response
    /// bit set and compression reset; path and method copied; metadata and payload empty.
    pub fn reply_to(req: &Message) -> Message {
        Message {
            header: req.header.reply_header(),
            service_path: req.service_path.clone(),
            service_method: req.service_method.clone(),
            metadata: Metadata::new(),
            payload: Bytes::new(),
        }
    }

    /// An error reply to `req` carrying `text` in `__rpcx_error__`.
    pub fn error_reply(req: &Message, text: impl Into<ByteStr>) -> Message {
        let mut res = Message::reply_to(req);
        res.header.set_status(MessageStatusType::Error);
        res.metadata.insert(keys::SERVICE_ERROR, text);
        res
    }

    /// A heartbeat request as the Go client sends it: heartbeat bit, empty path and method,
    /// MsgPack serialize type, payload = msgpack int64 of `unix_nanos`.
    pub fn heartbeat(seq: u64, unix_nanos: i64) -> Message {
        let mut m = Message::default();
        m.header.seq = seq;
        m.header.set_heartbeat(true);
        m.header.set_serialize_type(SerializeType::MSGPACK);
        m.payload = heartbeat_payload(unix_nanos);
        m
    }

    /// True for a server push as the Go client classifies it: a request that is oneway and
    /// not a heartbeat.
    pub fn is_server_push(&self) -> bool {
        self.header.message_type() == MessageType::Request
            && self.header.is_oneway()
            && !self.header.is_heartbeat()
    }

    /// The error text of an error reply (`__rpcx_error__`), if the status is Error.
    pub fn error_text(&self) -> Option<&str> {
        if self.header.is_error() {
            self.metadata.get(keys::SERVICE_ERROR)
        } else {
            None
        }
    }

    /// Appends the encoded frame to `dst`, compressing the payload when the header says so.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        let wire = self.wire_payload()?;
        self.encode_with_wire_payload(&wire, dst)
    }

    /// The payload as it goes on the wire: compressed when the header's compress type says so.
    /// Lets a sender compress before taking a lock around [`Message::encode_with_wire_payload`].
    pub fn wire_payload(&self) -> Result<Bytes, ProtocolError> {
        match self.header.compress_type() {
            CompressType::NONE => Ok(self.payload.clone()),
            ct => compress::compress(ct, &self.payload),
        }
    }

    /// Appends the frame with `wire_payload` (from [`Message::wire_payload`]) as its payload.
    pub fn encode_with_wire_payload(
        &self,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), ProtocolError> {
        let path = self.service_path.as_bytes();
        let method = self.service_method.as_bytes();
        let meta_len = self.metadata.encoded_len();
        let total = 16 + path.len() + method.len() + meta_len + payload.len();
        let total32 = check_len("frame", total)?;
        for (k, v) in self.metadata.raw_pairs() {
            check_len("metadata key", k.len())?;
            check_len("metadata value", v.len())?;
        }

        dst.reserve(16 + total);
        dst.put_slice(&self.header.to_bytes());
        dst.put_u32(total32);
        dst.put_u32(path.len() as u32);
        dst.put_slice(path);
        dst.put_u32(method.len() as u32);
        dst.put_slice(method);
        dst.put_u32(meta_len as u32);
        for (k, v) in self.metadata.raw_pairs() {
            dst.put_u32(k.len() as u32);
            dst.put_slice(k.as_bytes());
            dst.put_u32(v.len() as u32);
            dst.put_slice(v.as_bytes());
        }
        dst.put_u32(payload.len() as u32);
        dst.put_slice(payload);
        Ok(())
    }

    /// The encoded frame as one buffer.
    pub fn to_bytes(&self) -> Result<Bytes, ProtocolError> {
        let mut b = BytesMut::new();
        self.encode(&mut b)?;
        Ok(b.freeze())
    }
}

fn check_len(field: &'static str, len: usize) -> Result<u32, ProtocolError> {
    u32::try_from(len).map_err(|_| ProtocolError::FieldTooLong { field, len })
}

/// The heartbeat payload of the Go client: a MessagePack int64 (`0xd3` and 8 big-endian bytes).
pub fn heartbeat_payload(unix_nanos: i64) -> Bytes {
    let mut b = BytesMut::with_capacity(9);
    b.put_u8(0xd3);
    b.put_i64(unix_nanos);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_matches_the_documented_vector() {
        let m = Message::heartbeat(5, 1_700_000_000_000_000_000);
        let hex: String = m
            .to_bytes()
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "0800403000000000000000050000001900000000000000000000000000000009d317979cfe362a0000"
        );
    }

    #[test]
    fn error_reply_sets_status_and_key() {
        let req = Message::request("Arith", "Add");
        let res = Message::error_reply(&req, "boom");
        assert!(res.header.is_response() && res.header.is_error());
        assert_eq!(res.error_text(), Some("boom"));
    }
}
