//! The 12-byte rpcx header: magic, version, flags, serialize type and sequence number.

use crate::compress::CompressType;

/// The first byte of every rpcx frame.
pub const MAGIC: u8 = 0x08;

/// Length of the fixed header (magic, version, flags, serialize byte, seq), before `totalLen`.
pub const HEADER_LEN: usize = 12;

const TYPE_MASK: u8 = 0x80;
const HEARTBEAT_MASK: u8 = 0x40;
const ONEWAY_MASK: u8 = 0x20;
const COMPRESS_MASK: u8 = 0x1C;
const STATUS_MASK: u8 = 0x03;

/// Whether a message is a request or a response (flag bit 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// A request (or a server push, which travels as a oneway request).
    Request,
    /// A response to a request with the same sequence number.
    Response,
}

/// The status bits of a message (flag bits 1..0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatusType {
    /// A normal message.
    Normal,
    /// An error reply; the text is in metadata `__rpcx_error__`.
    Error,
    /// A status value rpcx does not define (2 or 3); kept so that it re-encodes unchanged.
    Other(u8),
}

/// How the payload is serialized (the high nibble of header byte 3).
///
/// An open set, like `http::StatusCode`: rpcx defines 0..=4 and lets users register others
/// up to 15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SerializeType(u8);

impl SerializeType {
    /// Raw bytes, passed through unchanged.
    pub const NONE: SerializeType = SerializeType(0);
    /// JSON.
    pub const JSON: SerializeType = SerializeType(1);
    /// Protocol Buffers.
    pub const PROTOBUF: SerializeType = SerializeType(2);
    /// MessagePack (the Go client's default), structs as maps keyed by field name.
    pub const MSGPACK: SerializeType = SerializeType(3);
    /// Apache Thrift binary protocol (defined by rpcx; no codec in fastrpc yet).
    pub const THRIFT: SerializeType = SerializeType(4);

    /// The serialize type with this number, if it fits the 4-bit field.
    pub const fn new(value: u8) -> Option<SerializeType> {
        if value <= 0x0F {
            Some(SerializeType(value))
        } else {
            None
        }
    }

    /// The number carried on the wire.
    pub const fn value(self) -> u8 {
        self.0
    }
}

impl std::fmt::Display for SerializeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            0 => "none",
            1 => "json",
            2 => "protobuf",
            3 => "msgpack",
            4 => "thrift",
            n => return write!(f, "serialize type {n}"),
        };
        f.write_str(name)
    }
}

/// The fixed part of an rpcx header, kept bit for bit so that a decoded frame re-encodes to
/// the same bytes (reserved bits included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// Protocol version byte. Go sends 0 and never checks it.
    pub version: u8,
    /// The raw flags byte (type, heartbeat, oneway, compress, status).
    pub flags: u8,
    /// The raw serialize byte: serialize type in the high nibble, reserved low nibble.
    pub serialize: u8,
    /// Sequence number chosen by the requester and copied into the response.
    pub seq: u64,
}

impl Header {
    /// Parses the 12 header bytes. The caller has checked the magic byte.
    pub fn from_bytes(b: &[u8; HEADER_LEN]) -> Header {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&b[4..12]);
        Header {
            version: b[1],
            flags: b[2],
            serialize: b[3],
            seq: u64::from_be_bytes(seq),
        }
    }

    /// The 12 header bytes, magic first.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = MAGIC;
        b[1] = self.version;
        b[2] = self.flags;
        b[3] = self.serialize;
        b[4..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// Request or response.
    pub fn message_type(&self) -> MessageType {
        if self.flags & TYPE_MASK != 0 {
            MessageType::Response
        } else {
            MessageType::Request
        }
    }

    /// Sets request or response.
    pub fn set_message_type(&mut self, t: MessageType) {
        self.set_bit(TYPE_MASK, t == MessageType::Response);
    }

    /// True for a response.
    pub fn is_response(&self) -> bool {
        self.message_type() == MessageType::Response
    }

    /// The heartbeat bit.
    pub fn is_heartbeat(&self) -> bool {
        self.flags & HEARTBEAT_MASK != 0
    }

    /// Sets the heartbeat bit.
    pub fn set_heartbeat(&mut self, on: bool) {
        self.set_bit(HEARTBEAT_MASK, on);
    }

    /// The oneway bit: no response is expected.
    pub fn is_oneway(&self) -> bool {
        self.flags & ONEWAY_MASK != 0
    }

    /// Sets the oneway bit.
    pub fn set_oneway(&mut self, on: bool) {
        self.set_bit(ONEWAY_MASK, on);
    }

    /// The compress type of the payload (3 bits).
    pub fn compress_type(&self) -> CompressType {
        CompressType::from_bits((self.flags & COMPRESS_MASK) >> 2)
    }

    /// Sets the compress type.
    pub fn set_compress_type(&mut self, c: CompressType) {
        self.flags = (self.flags & !COMPRESS_MASK) | ((c.value() << 2) & COMPRESS_MASK);
    }

    /// The status bits.
    pub fn status(&self) -> MessageStatusType {
        match self.flags & STATUS_MASK {
            0 => MessageStatusType::Normal,
            1 => MessageStatusType::Error,
            n => MessageStatusType::Other(n),
        }
    }

    /// Sets the status bits.
    pub fn set_status(&mut self, s: MessageStatusType) {
        let v = match s {
            MessageStatusType::Normal => 0,
            MessageStatusType::Error => 1,
            MessageStatusType::Other(n) => n & STATUS_MASK,
        };
        self.flags = (self.flags & !STATUS_MASK) | v;
    }

    /// True when the status bits say Error.
    pub fn is_error(&self) -> bool {
        self.status() == MessageStatusType::Error
    }

    /// The serialize type (high nibble of byte 3).
    pub fn serialize_type(&self) -> SerializeType {
        SerializeType(self.serialize >> 4)
    }

    /// Sets the serialize type, keeping the reserved low nibble.
    pub fn set_serialize_type(&mut self, s: SerializeType) {
        self.serialize = (self.serialize & 0x0F) | (s.0 << 4);
    }

    /// The header of the reply to this request, built as Go's server does (`req.Clone()`):
    /// response bit set, compression reset to none, status normal; version, heartbeat, oneway,
    /// serialize type and seq kept.
    pub fn reply_header(&self) -> Header {
        let mut h = *self;
        h.set_message_type(MessageType::Response);
        h.set_compress_type(CompressType::NONE);
        h.set_status(MessageStatusType::Normal);
        h
    }

    fn set_bit(&mut self, mask: u8, on: bool) {
        if on {
            self.flags |= mask;
        } else {
            self.flags &= !mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits_are_independent() {
        let mut h = Header::default();
        h.set_message_type(MessageType::Response);
        h.set_heartbeat(true);
        h.set_oneway(true);
        h.set_compress_type(CompressType::GZIP);
        h.set_status(MessageStatusType::Error);
        assert_eq!(h.flags, 0x80 | 0x40 | 0x20 | 0x04 | 0x01);
        h.set_heartbeat(false);
        h.set_compress_type(CompressType::NONE);
        assert_eq!(h.flags, 0x80 | 0x20 | 0x01);
        assert!(h.is_response() && h.is_oneway() && !h.is_heartbeat() && h.is_error());
    }

    #[test]
    fn serialize_nibble_keeps_reserved_bits() {
        let mut h = Header {
            serialize: 0x05,
            ..Header::default()
        };
        h.set_serialize_type(SerializeType::MSGPACK);
        assert_eq!(h.serialize, 0x35);
        assert_eq!(h.serialize_type(), SerializeType::MSGPACK);
    }

    #[test]
    fn reply_header_follows_go_clone() {
        let mut req = Header {
            version: 0,
            flags: 0,
            serialize: 0x10,
            seq: 42,
        };
        req.set_oneway(true);
        req.set_compress_type(CompressType::GZIP);
        let res = req.reply_header();
        assert!(res.is_response() && res.is_oneway());
        assert_eq!(res.compress_type(), CompressType::NONE);
        assert_eq!(res.seq, 42);
        assert_eq!(res.serialize_type(), SerializeType::JSON);
    }

    #[test]
    fn bytes_round_trip() {
        let h = Header {
            version: 7,
            flags: 0xC5,
            serialize: 0x31,
            seq: 0x0102_0304_0506_0708,
        };
        assert_eq!(Header::from_bytes(&h.to_bytes()), h);
        assert_eq!(h.to_bytes()[0], MAGIC);
    }
}
