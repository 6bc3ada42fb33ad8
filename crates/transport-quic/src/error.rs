//! [`QuicError`]: what can go wrong configuring, dialing or accepting.

/// An error from this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuicError {
    /// A certificate or key in configuration could not be read, or the development
    /// certificate could not be made.
    #[error("quic: {0}")]
    Certificate(#[from] fastrpc_transport_tls::TlsError),
    /// rustls refused the TLS configuration (for example a key that does not match the certificate).
    #[error("quic: tls configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The TLS configuration has no TLS 1.3 cipher suite QUIC can use.
    #[error("quic: no TLS 1.3 cipher suite usable by QUIC")]
    NoQuicCipherSuite,
    /// A limit in [`QuicLimits`](crate::QuicLimits) is out of QUIC's range.
    #[error("quic: bad limit: {0}")]
    Limit(&'static str),
    /// The dial could not start (bad server name, endpoint stopping).
    #[error("quic: connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed or was closed: a failed handshake (wrong or missing certificate,
    /// ALPN mismatch), a timeout, or the peer closing it.
    #[error("quic: connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// A socket error.
    #[error("quic: io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<QuicError> for std::io::Error {
    fn from(e: QuicError) -> Self {
        match e {
            QuicError::Io(e) => e,
            QuicError::Connection(c) => std::io::Error::from(c),
            other => std::io::Error::other(other),
        }
    }
}
