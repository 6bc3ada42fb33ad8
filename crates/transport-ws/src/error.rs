//! [`WsError`]: what can go wrong in the upgrade or on the frames.

/// An error from this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// A socket or TLS error.
    #[error("websocket: io: {0}")]
    Io(#[from] std::io::Error),
    /// The upgrade did not finish in time.
    #[error("websocket: the handshake timed out")]
    TimedOut,
    /// The peer closed the connection during the upgrade.
    #[error("websocket: the peer closed the connection during the handshake")]
    ClosedDuringHandshake,
    /// The HTTP head is longer than [`WsConfig::max_head_bytes`](crate::WsConfig::max_head_bytes).
    #[error("websocket: the HTTP head exceeds {0} bytes")]
    HeadTooLarge(usize),
    /// The HTTP head does not parse.
    #[error("websocket: malformed HTTP head: {0}")]
    MalformedHead(String),
    /// The request asked for another path than the one served.
    #[error("websocket: wrong path {got:?}, expected {expected:?}")]
    WrongPath {
        /// The path asked for.
        got: String,
        /// The path served.
        expected: String,
    },
    /// The request is not a valid WebSocket upgrade (method, headers, version).
    #[error("websocket: bad upgrade request: {0}")]
    BadRequest(&'static str),
    /// The server answered the upgrade with another status than 101.
    #[error("websocket: the server answered {0} instead of 101 Switching Protocols")]
    Status(u16),
    /// The server's 101 answer is not a valid WebSocket upgrade.
    #[error("websocket: bad upgrade response: {0}")]
    BadResponse(&'static str),
    /// A frame breaks RFC 6455 (unmasked client frame, reserved bits or opcodes, oversized
    /// control frame).
    #[error("websocket: protocol violation: {0}")]
    Protocol(&'static str),
    /// A message is longer than [`WsConfig::max_message_size`](crate::WsConfig::max_message_size).
    #[error("websocket: message of {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// The size announced so far.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// The server name for wss is not a valid DNS name or IP address.
    #[error("websocket: invalid server name {0:?}")]
    InvalidServerName(String),
}

impl From<WsError> for std::io::Error {
    fn from(e: WsError) -> Self {
        match e {
            WsError::Io(e) => e,
            WsError::TimedOut => std::io::Error::new(std::io::ErrorKind::TimedOut, e),
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}
