//! The sans-IO core of fastrpc: the rpcx wire protocol.
//!
//! This crate turns bytes into [`Message`]s and back, exactly as Go rpcx does on the wire
//! (see `docs/PROTOCOL.md`). It knows the 12-byte header and every flag, the frame body,
//! metadata, Go's lenient payload length, gzip of the payload with the 1024-byte send threshold,
//! the reserved metadata keys, safe [`Limits`], and `network@addr` server keys.
//!
//! It is **not** a network library: it opens no sockets and needs no runtime. The server and
//! client crates drive it; like `quinn-proto`, it is deterministic, small enough to read in one
//! sitting, and fuzzed (`fuzz/`).
//!
//! ```
//! use bytes::BytesMut;
//! use fastrpc_core::{FrameDecoder, Message, SerializeType};
//!
//! let mut req = Message::request("Arith", "Mul");
//! req.header.set_serialize_type(SerializeType::JSON);
//! req.payload = bytes::Bytes::from_static(br#"{"A":7,"B":8}"#);
//!
//! let mut wire = BytesMut::new();
//! req.encode(&mut wire).unwrap();
//!
//! // The decoder is incremental: feed it what arrived, it returns whole frames.
//! let mut decoder = FrameDecoder::default();
//! let decoded = decoder.decode(&mut wire).unwrap().expect("a whole frame");
//! assert_eq!(decoded.service_method, "Mul");
//! assert_eq!(decoded.payload, req.payload);
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod address;
mod bytestr;
pub mod compress;
mod decoder;
mod error;
mod header;
mod limits;
mod message;
mod metadata;

pub use address::{AddressError, ServerAddr};
pub use bytestr::ByteStr;
pub use compress::{CompressType, GZIP_THRESHOLD};
pub use decoder::FrameDecoder;
pub use error::ProtocolError;
pub use header::{HEADER_LEN, Header, MAGIC, MessageStatusType, MessageType, SerializeType};
pub use limits::Limits;
pub use message::{Message, heartbeat_payload};
pub use metadata::Metadata;

/// Metadata keys that have a meaning to rpcx (`rpcx-protocol.md` §1.7).
pub mod keys {
    /// Response: the error text of an error reply (status bits = Error).
    pub const SERVICE_ERROR: &str = "__rpcx_error__";
    /// Request: the auth token, handed to the server's auth function.
    pub const AUTH: &str = "__AUTH";
    /// Request: the caller's remaining deadline in milliseconds, as a decimal string.
    pub const SERVER_TIMEOUT: &str = "__ServerTimeout";
    /// Client-local: the server that answered (never sent on the wire).
    pub const SERVER_ADDRESS: &str = "__ServerAddress";
    /// Server-internal: set by an alias plugin when it rewrote path and method.
    pub const ALIAS_APPLIED: &str = "__aliasAppliedKey";
}

/// Standard error texts of the Go rpcx server, byte for byte.
pub mod errors {
    /// `rpcx: can't find service <path>`.
    pub fn cant_find_service(path: &str) -> String {
        format!("rpcx: can't find service {path}")
    }
    /// `rpcx: can't find method <method>`.
    pub fn cant_find_method(method: &str) -> String {
        format!("rpcx: can't find method {method}")
    }
    /// `can not find codec for <n>`.
    pub fn cant_find_codec(serialize_type: u8) -> String {
        format!("can not find codec for {serialize_type}")
    }
    /// The rate limiter's rejection (`ErrReqReachLimit`).
    pub const REQ_REACH_LIMIT: &str = "request reached rate limit";
    /// fastrpc's reply to requests that arrive while a server drains for shutdown. The server
    /// never ran the call, so a client may safely retry it elsewhere.
    pub const SHUTTING_DOWN: &str = "rpcx: server is shutting down";
}
