//! [`TlsError`]: what can go wrong configuring TLS or running a handshake.

use std::io;

/// An error from this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key in configuration could not be read.
    #[error("tls: bad certificate or key: {0}")]
    Pem(String),
    /// rustls refused the configuration (for example a key that does not match the
    /// certificate, or a root that is not a valid certificate).
    #[error("tls: configuration: {0}")]
    Config(#[from] rustls::Error),
    /// Generating the development certificate failed.
    #[error("tls: development certificate: {0}")]
    DevCert(#[from] rcgen::Error),
    /// The handshake failed: the peer's certificate is not trusted (wrong CA, wrong name,
    /// expired), the peer sent a fatal alert, or it does not speak TLS.
    #[error("tls: handshake failed: {0}")]
    Handshake(rustls::Error),
    /// The server asked for a client certificate and this client has none to present
    /// (configure one with [`ClientTls::with_identity`](crate::ClientTls::with_identity)).
    #[error("tls: the server requires a client certificate and none is configured")]
    ClientCertificateRequired,
    /// The address has no host part usable as a TLS server name.
    #[error("tls: invalid server name {0:?}")]
    ServerName(String),
    /// The handshake did not finish in time.
    #[error("tls: handshake timed out")]
    TimedOut,
    /// A socket error.
    #[error("tls: io: {0}")]
    Io(#[from] io::Error),
}

impl TlsError {
    /// Classifies an I/O error from a tokio-rustls handshake: rustls errors become
    /// [`TlsError::Handshake`], anything else stays I/O.
    pub(crate) fn from_handshake(e: io::Error) -> TlsError {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(r) => TlsError::Handshake(r.clone()),
            None => TlsError::Io(e),
        }
    }
}

impl From<TlsError> for io::Error {
    /// I/O errors stay themselves; everything else is carried inside an `io::Error` (kind
    /// `TimedOut`, `InvalidInput` for configuration, `PermissionDenied` for a failed
    /// handshake), so `err.get_ref()` downcasts back to the [`TlsError`].
    fn from(e: TlsError) -> io::Error {
        match e {
            TlsError::Io(io) => io,
            e => {
                let kind = match &e {
                    TlsError::TimedOut => io::ErrorKind::TimedOut,
                    TlsError::Handshake(_) | TlsError::ClientCertificateRequired => {
                        io::ErrorKind::PermissionDenied
                    }
                    _ => io::ErrorKind::InvalidInput,
                };
                io::Error::new(kind, e)
            }
        }
    }
}
