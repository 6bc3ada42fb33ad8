//! XClient errors.

use crate::router::{Classify, ErrorClass};
use fastrpc_client::{ClientError, ErrorKind, RemoteError};
use std::sync::Arc;

/// Why an XClient call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XClientError {
    /// Discovery lists no usable server (none at all, or all inactive or in other groups).
    #[error("no server available for service {service_path:?}")]
    NoServer {
        /// The service path of the client.
        service_path: String,
    },
    /// Servers are listed but the circuit breaker of every one is open.
    #[error("every server of {service_path:?} has an open circuit breaker")]
    AllBreakersOpen {
        /// The service path of the client.
        service_path: String,
    },
    /// The call's deadline passed before a (further) attempt could be made.
    #[error("call deadline exceeded before a server could be tried")]
    DeadlineExceeded,
    /// One server failed; after retries this is the last failure.
    #[error("{server}: {source}")]
    Call {
        /// The server key (`tcp@host:port`).
        server: String,
        /// The connection-level error, including the server's error reply
        /// ([`ClientError::Remote`]).
        #[source]
        source: ClientError,
    },
    /// The server is not reachable right now: its last connect failed and the client is
    /// waiting before dialing it again.
    #[error("{server} is unreachable (reconnect backoff): {reason}")]
    Unreachable {
        /// The server key.
        server: String,
        /// The last connect error.
        reason: Arc<str>,
    },
    /// The arguments could not be encoded.
    #[error("cannot encode arguments: {0}")]
    Encode(#[source] fastrpc_codec::CodecError),
    /// The reply of `server` could not be decoded.
    #[error("{server}: cannot decode reply: {source}")]
    Decode {
        /// The server key.
        server: String,
        /// The codec error.
        #[source]
        source: fastrpc_codec::CodecError,
    },
    /// A plugin's `pre_call` refused the call.
    #[error("refused by plugin: {0}")]
    Plugin(String),
    /// The select mode needs a selector that was not given (`SelectByUser`, or
    /// `WeightedIcmp` without the `ping` feature).
    #[error("select mode {0:?} needs a selector")]
    NoSelector(crate::SelectMode),
    /// The XClient was closed.
    #[error("xclient is closed")]
    Closed,
}

impl XClientError {
    /// True for an error reply of the service (never retried).
    pub fn is_service_error(&self) -> bool {
        self.as_service_error().is_some()
    }

    /// The service's error reply, if this is one.
    pub fn as_service_error(&self) -> Option<&RemoteError> {
        match self {
            XClientError::Call { source, .. } => source.as_service_error(),
            _ => None,
        }
    }

    /// True when the caller's deadline ended the call.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            XClientError::DeadlineExceeded
                | XClientError::Call {
                    source: ClientError::Timeout(_),
                    ..
                }
        )
    }

    /// The server the error came from, if one was involved.
    pub fn server(&self) -> Option<&str> {
        match self {
            XClientError::Call { server, .. }
            | XClientError::Unreachable { server, .. }
            | XClientError::Decode { server, .. } => Some(server),
            _ => None,
        }
    }
}

impl Classify for XClientError {
    fn class(&self) -> ErrorClass {
        match self {
            XClientError::Call { source, .. } => classify_client_error(source),
            XClientError::Unreachable { .. } => ErrorClass::Retryable,
            XClientError::DeadlineExceeded => ErrorClass::Deadline,
            // A reply that does not decode came from a live server speaking another schema;
            // another server would answer the same.
            XClientError::Decode { .. } => ErrorClass::Local,
            _ => ErrorClass::Local,
        }
    }
}

/// How the XClient judges a connection-level error: the client's own classification
/// ([`ClientError::is_retryable`] and [`ClientError::kind`]), plus one case only the XClient
/// knows, a connection it closed itself.
pub(crate) fn classify_client_error(e: &ClientError) -> ErrorClass {
    match e {
        // `Shutdown` here means the XClient closed the connection under the call (the server
        // left discovery): another server can take it.
        ClientError::Shutdown => ErrorClass::Retryable,
        e if e.is_retryable() => ErrorClass::Retryable,
        e => match e.kind() {
            ErrorKind::DeadlineExceeded => ErrorClass::Deadline,
            ErrorKind::Remote
            | ErrorKind::UnknownService
            | ErrorKind::UnknownMethod
            | ErrorKind::BadArgument
            | ErrorKind::Unauthenticated
            | ErrorKind::RateLimited => ErrorClass::Service,
            _ => ErrorClass::Local,
        },
    }
}
