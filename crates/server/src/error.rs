//! The error a service method returns.

use bytes::Bytes;
use fastrpc_codec::{CodecError, Payload};
use fastrpc_core::SerializeType;
use std::fmt;

/// An error returned by a service method: its text goes to the caller in `__rpcx_error__`.
///
/// Any `std::error::Error` converts into it with `?`; build one from text with
/// [`ServiceError::new`]. Like Go rpcx, an error can also carry a reply that is encoded into
/// the error response's payload ([`ServiceError::with_reply`]).
///
/// It deliberately does not implement `std::error::Error` itself (as `anyhow::Error` does not),
/// so that the blanket conversion from every error type can exist.
pub struct ServiceError {
    message: String,
    reply: Option<Box<dyn ErasedReply>>,
}

trait ErasedReply: Send + Sync {
    fn encode(&self, st: SerializeType) -> Result<Bytes, CodecError>;
}

impl<T: Payload + Sync> ErasedReply for T {
    fn encode(&self, st: SerializeType) -> Result<Bytes, CodecError> {
        self.to_bytes(st)
    }
}

impl ServiceError {
    /// An error with this text.
    pub fn new(message: impl Into<String>) -> ServiceError {
        ServiceError {
            message: message.into(),
            reply: None,
        }
    }

    /// An error whose response also carries `reply` as its payload (as when a Go method
    /// returns an error with a non-nil reply).
    pub fn with_reply<R: Payload + Sync>(message: impl Into<String>, reply: R) -> ServiceError {
        ServiceError {
            message: message.into(),
            reply: Some(Box::new(reply)),
        }
    }

    /// The error text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The payload of the error response, encoded as `st` (empty without a reply).
    pub(crate) fn payload(&self, st: SerializeType) -> Bytes {
        match &self.reply {
            None => Bytes::new(),
            Some(r) => r.encode(st).unwrap_or_default(),
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ServiceError {
    fn from(e: E) -> ServiceError {
        ServiceError::new(e.to_string())
    }
}

impl fmt::Debug for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceError")
            .field("message", &self.message)
            .field("has_reply", &self.reply.is_some())
            .finish()
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
