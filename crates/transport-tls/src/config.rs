//! [`ServerTls`] and [`ClientTls`]: TLS configuration from certificates, turned into rustls
//! configurations (ring provider) for TLS on TCP, and for QUIC by `fastrpc-transport-quic`.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, SupportedProtocolVersion};
use rustls_pki_types::CertificateDer;

use crate::error::TlsError;
use crate::identity::{DevCert, Identity, read_certs};
use crate::skip_verify::SkipVerify;

/// The TLS versions Go's `crypto/tls` negotiates by default: 1.2 and 1.3.
pub static DEFAULT_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(certs: &[CertificateDer<'static>]) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for c in certs {
        store.add(c.clone())?;
    }
    Ok(store)
}

/// The server side's TLS: its identity and, optionally, the roots client certificates must
/// chain to (client auth, Go's `tls.RequireAndVerifyClientCert`).
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The server's certificate and key.
    pub identity: Identity,
    /// When set, every client must present a certificate that chains to one of these.
    pub client_auth_roots: Option<Vec<CertificateDer<'static>>>,
}

impl ServerTls {
    /// A server identity without client auth.
    pub fn new(identity: Identity) -> ServerTls {
        ServerTls {
            identity,
            client_auth_roots: None,
        }
    }

    /// A server identity read from PEM files (certificate chain, private key).
    pub fn from_pem_files(
        chain: impl AsRef<std::path::Path>,
        key: impl AsRef<std::path::Path>,
    ) -> Result<ServerTls, TlsError> {
        Ok(ServerTls::new(Identity::from_pem_files(chain, key)?))
    }

    /// Development mode: a fresh self-signed certificate for localhost. Tests and examples only.
    pub fn development() -> Result<ServerTls, TlsError> {
        Ok(ServerTls::new(DevCert::localhost()?.identity))
    }

    /// Requires client certificates that chain to `roots`.
    pub fn require_client_auth(mut self, roots: Vec<CertificateDer<'static>>) -> ServerTls {
        self.client_auth_roots = Some(roots);
        self
    }

    /// Requires client certificates that chain to a root in the PEM bundle `ca_pem`.
    pub fn require_client_auth_pem(self, ca_pem: &[u8]) -> Result<ServerTls, TlsError> {
        Ok(self.require_client_auth(read_certs(ca_pem)?))
    }

    /// The rustls configuration for TLS on TCP: TLS 1.2 and 1.3, no ALPN (as Go rpcx's
    /// `tcp` with a `TLSConfig`).
    pub fn to_rustls(&self) -> Result<rustls::ServerConfig, TlsError> {
        self.rustls_config(DEFAULT_VERSIONS, &[])
    }

    /// The rustls configuration with the given protocol versions and ALPN ids (QUIC asks
    /// for TLS 1.3 and `rpcx`).
    pub fn rustls_config(
        &self,
        versions: &[&'static SupportedProtocolVersion],
        alpn: &[&[u8]],
    ) -> Result<rustls::ServerConfig, TlsError> {
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)?;
        let builder = match &self.client_auth_roots {
            None => builder.with_no_client_auth(),
            Some(r) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots(r)?), provider)
                        .build()
                        .map_err(|e| TlsError::Pem(format!("client auth roots: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut cfg =
            builder.with_single_cert(self.identity.chain.clone(), self.identity.key.clone_key())?;
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }
}

/// How a client checks the server.
#[derive(Clone, Debug)]
enum Verify {
    Roots(Vec<CertificateDer<'static>>),
    SkipInDevelopment,
}

/// The client side's TLS: the roots the server must chain to, and an optional client identity.
#[derive(Clone, Debug)]
pub struct ClientTls {
    verify: Verify,
    identity: Option<Identity>,
    server_name: Option<String>,
}

impl ClientTls {
    /// Verifies the server against `roots`.
    pub fn with_roots(roots: Vec<CertificateDer<'static>>) -> ClientTls {
        ClientTls {
            verify: Verify::Roots(roots),
            identity: None,
            server_name: None,
        }
    }

    /// Verifies the server against the roots in the PEM bundle `ca_pem`.
    pub fn with_roots_pem(ca_pem: &[u8]) -> Result<ClientTls, TlsError> {
        Ok(ClientTls::with_roots(read_certs(ca_pem)?))
    }

    /// Development mode: accepts any server certificate (signatures are still checked), as Go
    /// rpcx's client does with `InsecureSkipVerify`. Tests and examples only: it offers no
    /// protection against an active attacker.
    pub fn development() -> ClientTls {
        ClientTls {
            verify: Verify::SkipInDevelopment,
            identity: None,
            server_name: None,
        }
    }

    /// Presents `identity` to servers that ask for a client certificate.
    pub fn with_identity(mut self, identity: Identity) -> ClientTls {
        self.identity = Some(identity);
        self
    }

    /// Checks the server's certificate against `name` instead of the host of the address
    /// dialed (Go's `tls.Config.ServerName`).
    pub fn with_server_name(mut self, name: impl Into<String>) -> ClientTls {
        self.server_name = Some(name.into());
        self
    }

    /// The name set by [`ClientTls::with_server_name`], if any.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// True when a client identity is configured.
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// The rustls configuration for TLS on TCP: TLS 1.2 and 1.3, no ALPN.
    pub fn to_rustls(&self) -> Result<rustls::ClientConfig, TlsError> {
        self.rustls_config(DEFAULT_VERSIONS, &[])
    }

    /// The rustls configuration with the given protocol versions and ALPN ids.
    pub fn rustls_config(
        &self,
        versions: &[&'static SupportedProtocolVersion],
        alpn: &[&[u8]],
    ) -> Result<rustls::ClientConfig, TlsError> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)?;
        let builder = match &self.verify {
            Verify::Roots(r) => builder.with_root_certificates(roots(r)?),
            Verify::SkipInDevelopment => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(SkipVerify(provider))),
        };
        let mut cfg = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key.clone_key())?,
        };
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }
}
