//! Client errors: what failed, as kinds a program can match on.
//!
//! rpcx puts no error code on the wire: an error reply carries only a text in
//! `__rpcx_error__`. The kinds below are recovered from the texts Go rpcx and fastrpc servers
//! send for the cases rpcx itself produces (unknown service or method, undecodable argument,
//! expired deadline, shutdown); any other text is the service's own error,
//! [`ErrorKind::Remote`]. A refused `__AUTH` token is recognised by what follows it: the
//! server closes the connection right after the error reply.

use bytes::Bytes;
use fastrpc_codec::{CodecError, Payload};
use fastrpc_core::{Metadata, SerializeType};
use std::sync::Arc;
use std::time::Duration;

/// What kind of failure a [`ClientError`] is; see [`ClientError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The service ran and returned an error (any error text rpcx does not produce itself).
    Remote,
    /// The server has no such service (`rpcx: can't find service <name>`).
    UnknownService,
    /// The service has no such method (`rpcx: can't find method <name>`).
    UnknownMethod,
    /// The server could not decode the argument (a codec's error text, or no codec for the
    /// serialize type).
    BadArgument,
    /// The server refused the `__AUTH` token (its error reply was followed by a close).
    Unauthenticated,
    /// The call's deadline passed: locally ([`ClientError::Timeout`]) or on the server
    /// (`context deadline exceeded`).
    DeadlineExceeded,
    /// The server is draining for shutdown and did not run the call; safe to retry elsewhere.
    ShuttingDown,
    /// The server's rate limiter refused the call (`request reached rate limit`).
    RateLimited,
    /// The request is longer than the frame limit; it was not sent.
    FrameTooLarge,
    /// The connection failed, closed, or carried a malformed frame.
    Transport,
    /// The argument could not be encoded or the reply decoded, on this side.
    Codec,
    /// The address or network is not usable.
    InvalidAddress,
}

/// The error reply of a server: status Error, text in `__rpcx_error__`.
///
/// The server ran the call (or refused it); see [`RemoteError::kind`] for which case the text
/// stands for, and [`RemoteError::decode_reply`] for the reply a service may send along with
/// its error (the counterpart of the server's `ServiceError::with_reply`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
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

impl RemoteError {
    /// What the error text stands for. Never [`ErrorKind::Unauthenticated`]: that is known
    /// only from the close that follows (see [`ClientError::Unauthenticated`]).
    pub fn kind(&self) -> ErrorKind {
        classify_text(&self.message)
    }

    /// Decodes the reply the server sent with its error, or `None` when it sent none.
    pub fn decode_reply<T: Payload>(&self) -> Option<Result<T, CodecError>> {
        if self.payload.is_empty() {
            return None;
        }
        Some(T::decode(self.serialize_type, self.payload.clone()))
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteError {}

/// Why a call or a connection failed. [`ClientError::kind`] sorts it into an [`ErrorKind`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server key is not a valid `network@addr`.
    #[error("invalid server address: {0}")]
    InvalidAddress(#[from] fastrpc_core::AddressError),
    /// No dialer for this network is compiled in. (Kept for compatibility: the client now
    /// reports [`ClientError::Network`].)
    #[error("unsupported network {0:?}")]
    UnsupportedNetwork(String),
    /// The network of the address is unknown, or its transport crate is not compiled in
    /// ([`NetworkError::NotCompiled`](fastrpc_transport::network::NetworkError::NotCompiled)
    /// names the `fastrpc` feature to enable).
    #[error("{0}")]
    Network(fastrpc_transport::network::NetworkError),
    /// Connecting failed.
    #[error("failed to connect to {addr}: {source}")]
    Connect {
        /// The address dialed.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The call's deadline passed before the reply arrived (an explicit per-call timeout is
    /// also sent to the server as `__ServerTimeout`).
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
    /// The server answered with an error; [`RemoteError::kind`] says which.
    #[error("{0}")]
    Remote(RemoteError),
    /// The server refused the auth token: to a request that carried `__AUTH` it sent this
    /// error reply (a text rpcx does not produce itself) and closed the connection within
    /// 50 ms. Calls on that connection afterwards fail the same way. Not retryable: the same
    /// token is refused again.
    #[error("unauthenticated: {0}")]
    Unauthenticated(RemoteError),
    /// The request frame would be longer than the frame limit
    /// ([`ClientOptions::limits`](crate::ClientOptions::limits)), so it was not sent.
    #[error("request frame of {len} bytes exceeds the frame limit of {max} bytes")]
    FrameTooLarge {
        /// The frame's `totalLen`.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl ClientError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::InvalidAddress(_)
            | ClientError::UnsupportedNetwork(_)
            | ClientError::Network(_) => ErrorKind::InvalidAddress,
            ClientError::Connect { .. }
            | ClientError::ConnectionClosed(_)
            | ClientError::Shutdown
            | ClientError::Protocol(_) => ErrorKind::Transport,
            ClientError::Timeout(_) => ErrorKind::DeadlineExceeded,
            ClientError::Codec(_) => ErrorKind::Codec,
            ClientError::Remote(e) => e.kind(),
            ClientError::Unauthenticated(_) => ErrorKind::Unauthenticated,
            ClientError::FrameTooLarge { .. } => ErrorKind::FrameTooLarge,
        }
    }

    /// True for an error reply of the server (including an auth refusal).
    pub fn is_service_error(&self) -> bool {
        self.as_remote_error().is_some()
    }

    /// The server's error reply, if this is one.
    pub fn as_remote_error(&self) -> Option<&RemoteError> {
        match self {
            ClientError::Remote(e) | ClientError::Unauthenticated(e) => Some(e),
            _ => None,
        }
    }

    /// The server's error reply, if this is one (same as [`ClientError::as_remote_error`]).
    pub fn as_service_error(&self) -> Option<&RemoteError> {
        self.as_remote_error()
    }

    /// True when trying the same call again, on this or another server, may succeed: the
    /// connection could not be made, broke, or carried a malformed reply frame
    /// ([`ErrorKind::Transport`], except [`ClientError::Shutdown`]: this client was closed on
    /// purpose), or the server is shutting down and did not run the call
    /// ([`ErrorKind::ShuttingDown`]). These are the failures rpcx's fail modes retry.
    ///
    /// Not retryable: every other error reply (the service ran, or refused the call for a
    /// reason another try does not change, such as a refused token, even though the server
    /// then closes the connection), deadlines (rpcx never retries past the caller's
    /// deadline), a request over the frame limit, and local errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Connect { .. }
            | ClientError::ConnectionClosed(_)
            | ClientError::Protocol(_) => true,
            ClientError::Remote(e) => e.kind() == ErrorKind::ShuttingDown,
            _ => false,
        }
    }

    /// True when the failure says the connection itself is broken (so a pool should drop it).
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. }
                | ClientError::ConnectionClosed(_)
                | ClientError::Shutdown
                | ClientError::Unauthenticated(_)
        )
    }

    /// The error a reply with status Error stands for, from its text alone (no auth check;
    /// see [`Client::reply_error`](crate::Client::reply_error) for that).
    pub fn from_error_reply(reply: fastrpc_core::Message) -> ClientError {
        ClientError::Remote(remote_error(reply))
    }
}

pub(crate) fn remote_error(reply: fastrpc_core::Message) -> RemoteError {
    RemoteError {
        message: reply.error_text().unwrap_or_default().to_owned(),
        serialize_type: reply.header.serialize_type(),
        payload: reply.payload,
        metadata: reply.metadata,
    }
}

/// Prefixes of the decode-error texts of Go's codecs (encoding/json, vmihailenco msgpack,
/// protobuf-go with a space or U+00A0 after `proto:`, gogo's `unexpected EOF`), and of
/// fastrpc's (`fastrpc_codec::CodecError`).
const BAD_ARGUMENT_PREFIXES: &[&str] = &[
    "can not find codec for ",
    "json: ",
    "msgpack: ",
    "msgpack decode: ",
    "proto:",
    "protobuf decode: ",
    "unexpected EOF",
    "unexpected end of JSON input",
    "invalid character ",
    "interface conversion: ",
];

/// Sorts an error reply's text into a kind (see the module docs).
pub(crate) fn classify_text(text: &str) -> ErrorKind {
    use fastrpc_core::errors;
    if text.starts_with("rpcx: can't find service ") {
        ErrorKind::UnknownService
    } else if text.starts_with("rpcx: can't find method ") {
        ErrorKind::UnknownMethod
    } else if text == errors::SHUTTING_DOWN {
        ErrorKind::ShuttingDown
    } else if text == "context deadline exceeded" {
        ErrorKind::DeadlineExceeded
    } else if text == errors::REQ_REACH_LIMIT {
        ErrorKind::RateLimited
    } else if BAD_ARGUMENT_PREFIXES.iter().any(|p| text.starts_with(p)) {
        ErrorKind::BadArgument
    } else {
        ErrorKind::Remote
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorKind, classify_text};

    #[test]
    fn go_texts() {
        let cases = [
            ("rpcx: can't find service Nope", ErrorKind::UnknownService),
            ("rpcx: can't find method NoSuch", ErrorKind::UnknownMethod),
            ("rpcx: server is shutting down", ErrorKind::ShuttingDown),
            ("context deadline exceeded", ErrorKind::DeadlineExceeded),
            ("request reached rate limit", ErrorKind::RateLimited),
            ("unexpected EOF", ErrorKind::BadArgument),
            (
                "json: cannot unmarshal string into Go struct field Args.A of type int",
                ErrorKind::BadArgument,
            ),
            (
                "msgpack: unexpected code=c1 decoding map length",
                ErrorKind::BadArgument,
            ),
            (
                "proto:\u{a0}cannot parse invalid wire-format data",
                ErrorKind::BadArgument,
            ),
            ("can not find codec for 9", ErrorKind::BadArgument),
            (
                "msgpack decode: wrong msgpack marker FixStr(1)",
                ErrorKind::BadArgument,
            ),
            ("not found", ErrorKind::Remote),
            ("invalid token", ErrorKind::Remote),
        ];
        for (text, kind) in cases {
            assert_eq!(classify_text(text), kind, "{text}");
        }
    }
}
