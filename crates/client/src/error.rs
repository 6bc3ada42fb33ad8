//! Client errors.

use bytes::Bytes;
use fastrpc_core::{Metadata, SerializeType};
use std::sync::Arc;
use std::time::Duration;

/// The error reply of a server: status Error, text in `__rpcx_error__`.
///
/// Like Go's `ServiceError`, it is never retried: the server ran (or refused) the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The error text.
    pub message: String,
    /// The reply payload the server sent along with the error (Go encodes the reply even on
    /// error); empty when there is none.
    pub payload: Bytes,
    /// The serialize type of `payload`.
    pub serialize_type: SerializeType,
    /// The reply's metadata (including `__rpcx_error__`).
    pub metadata: Metadata,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}

/// Why a call or a connection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server key is not a valid `network@addr`.
    #[error("invalid server address: {0}")]
    InvalidAddress(#[from] fastrpc_core::AddressError),
    /// No dialer for this network is compiled in.
    #[error("unsupported network {0:?}")]
    UnsupportedNetwork(String),
    /// Connecting failed.
    #[error("failed to connect to {addr}: {source}")]
    Connect {
        /// The address dialed.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The call's deadline passed before the reply arrived (the server was told the
    /// deadline through `__ServerTimeout`).
    #[error("call timed out after {0:?}")]
    Timeout(Duration),
    /// The connection ended while the call was pending or before it was sent.
    #[error("connection closed: {0}")]
    ConnectionClosed(Arc<str>),
    /// [`Client::close`](crate::Client::close) was called.
    #[error("client is shut down")]
    Shutdown,
    /// The request could not be encoded as a frame, or the reply frame was malformed.
    #[error("protocol error: {0}")]
    Protocol(#[from] fastrpc_core::ProtocolError),
    /// The argument could not be encoded or the reply decoded.
    #[error("codec error: {0}")]
    Codec(#[from] fastrpc_codec::CodecError),
    /// The server answered with an error.
    #[error("{0}")]
    Service(ServiceError),
}

impl ClientError {
    /// True for an error reply of the server.
    pub fn is_service_error(&self) -> bool {
        matches!(self, ClientError::Service(_))
    }

    /// The server's error, if this is one.
    pub fn as_service_error(&self) -> Option<&ServiceError> {
        match self {
            ClientError::Service(e) => Some(e),
            _ => None,
        }
    }

    /// True when trying again, on this or another server, may succeed: connection-level
    /// failures. Service errors, deadlines, codec and protocol errors are not retryable,
    /// matching rpcx's rule that no fail mode retries a service error or the caller's deadline.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. } | ClientError::ConnectionClosed(_)
        )
    }

    /// True when the failure says the connection itself is broken (so a pool should drop it).
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. } | ClientError::ConnectionClosed(_) | ClientError::Shutdown
        )
    }
}
