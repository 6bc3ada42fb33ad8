//! The client side: [`TlsConnector`] runs the TLS handshake over a connected stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{SignatureScheme, pki_types::ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

use crate::config::ClientTls;
use crate::error::TlsError;

/// A client's TLS, built once from a [`ClientTls`] and used for every dial.
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
    has_identity: bool,
    server_name: Option<String>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("has_identity", &self.has_identity)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Builds the rustls configuration of `tls` (TLS 1.2 and 1.3, no ALPN).
    pub fn new(tls: &ClientTls) -> Result<TlsConnector, TlsError> {
        Ok(TlsConnector {
            config: Arc::new(tls.to_rustls()?),
            has_identity: tls.has_identity(),
            server_name: tls.server_name().map(str::to_owned),
        })
    }

    /// Runs the handshake over `io` within `timeout`, checking the server's certificate
    /// against `host` (or the configured server name). A server that asks for a client
    /// certificate this client does not have is [`TlsError::ClientCertificateRequired`] here,
    /// not a closed connection at the first call.
    pub async fn connect<IO>(
        &self,
        host: &str,
        io: IO,
        timeout: Duration,
    ) -> Result<TlsStream<IO>, TlsError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let name = self.server_name.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|_| TlsError::ServerName(name.to_owned()))?;
        let asked = Arc::new(AtomicBool::new(false));
        let config = if self.has_identity {
            self.config.clone()
        } else {
            // Notes whether the server asks for a certificate (rustls calls the resolver only
            // then), so that case gets its own error.
            let mut c = (*self.config).clone();
            c.client_auth_cert_resolver = Arc::new(NoCertificate(asked.clone()));
            Arc::new(c)
        };
        let connector = tokio_rustls::TlsConnector::from(config);
        let stream = tokio::time::timeout(timeout, connector.connect(server_name, io))
            .await
            .map_err(|_| TlsError::TimedOut)?
            .map_err(TlsError::from_handshake)?;
        if asked.load(Ordering::Acquire) {
            return Err(TlsError::ClientCertificateRequired);
        }
        Ok(stream)
    }
}

/// The host part of `host:port` (`[::1]:443` gives `::1`), for the TLS server name.
pub fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':')
        .map_or(addr, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
}

/// A client without a certificate: records that the server asked for one.
#[derive(Debug)]
struct NoCertificate(Arc<AtomicBool>);

impl ResolvesClientCert for NoCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.store(true, Ordering::Release);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}
