//! TLS for QUIC: [`ServerTls`], [`ClientTls`] and the development mode ([`DevCert`]).
//!
//! QUIC always runs TLS 1.3. Both sides offer ALPN [`ALPN`] (`rpcx`), as Go rpcx's quic
//! network does, so a peer speaking another protocol fails the handshake.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

use crate::error::QuicError;

/// The ALPN protocol id both sides offer.
pub const ALPN: &[u8] = b"rpcx";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its private key.
#[derive(Debug)]
pub struct Identity {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Reads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Identity, QuicError> {
        let chain = read_certs(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| QuicError::Pem(format!("private key: {e}")))?;
        Ok(Identity { chain, key })
    }
}

/// Reads every certificate in a PEM bundle; at least one must be there.
pub fn read_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, QuicError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| QuicError::Pem(format!("certificate: {e}")))?;
    if certs.is_empty() {
        return Err(QuicError::Pem("no certificate in the PEM input".into()));
    }
    Ok(certs)
}

fn roots(certs: &[CertificateDer<'static>]) -> Result<RootCertStore, QuicError> {
    let mut store = RootCertStore::empty();
    for c in certs {
        store.add(c.clone())?;
    }
    Ok(store)
}

/// A self-signed certificate for development, made with rcgen. For tests and examples only:
/// a client trusts it either by adding [`DevCert::cert`] to its roots or, in development mode
/// only, by skipping verification ([`ClientTls::development`]).
#[derive(Clone, Debug)]
pub struct DevCert {
    /// The certificate and key.
    pub identity: Identity,
}

impl DevCert {
    /// A fresh self-signed certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn localhost() -> Result<DevCert, QuicError> {
        DevCert::for_names(&["localhost", "127.0.0.1", "::1"])
    }

    /// A fresh self-signed certificate for the given DNS names or IP addresses.
    pub fn for_names(names: &[&str]) -> Result<DevCert, QuicError> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let ck = rcgen::generate_simple_self_signed(names)?;
        let key = PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der());
        Ok(DevCert {
            identity: Identity {
                chain: vec![ck.cert.der().clone()],
                key: key.into(),
            },
        })
    }

    /// The certificate, to use as a trust root.
    pub fn cert(&self) -> CertificateDer<'static> {
        self.identity.chain[0].clone()
    }
}

/// The server side's TLS: its identity and, optionally, the roots client certificates must
/// chain to (client auth).
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

    /// Development mode: a fresh self-signed certificate for localhost. Tests and examples only.
    pub fn development() -> Result<ServerTls, QuicError> {
        Ok(ServerTls::new(DevCert::localhost()?.identity))
    }

    /// Requires client certificates that chain to `roots`.
    pub fn require_client_auth(mut self, roots: Vec<CertificateDer<'static>>) -> ServerTls {
        self.client_auth_roots = Some(roots);
        self
    }

    pub(crate) fn rustls(&self) -> Result<rustls::ServerConfig, QuicError> {
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?;
        let builder = match &self.client_auth_roots {
            None => builder.with_no_client_auth(),
            Some(r) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots(r)?), provider)
                        .build()
                        .map_err(|e| QuicError::Pem(format!("client auth roots: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut cfg =
            builder.with_single_cert(self.identity.chain.clone(), self.identity.key.clone_key())?;
        cfg.alpn_protocols = vec![ALPN.to_vec()];
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
}

impl ClientTls {
    /// Verifies the server against `roots`.
    pub fn with_roots(roots: Vec<CertificateDer<'static>>) -> ClientTls {
        ClientTls {
            verify: Verify::Roots(roots),
            identity: None,
        }
    }

    /// Development mode: accepts any server certificate (signatures are still checked), as Go
    /// rpcx's examples do with `InsecureSkipVerify`. Tests and examples only: it offers no
    /// protection against an active attacker.
    pub fn development() -> ClientTls {
        ClientTls {
            verify: Verify::SkipInDevelopment,
            identity: None,
        }
    }

    /// Presents `identity` to servers that ask for a client certificate.
    pub fn with_identity(mut self, identity: Identity) -> ClientTls {
        self.identity = Some(identity);
        self
    }

    pub(crate) fn rustls(&self) -> Result<rustls::ClientConfig, QuicError> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?;
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
        cfg.alpn_protocols = vec![ALPN.to_vec()];
        Ok(cfg)
    }
}

/// Development mode's verifier: any certificate, but a valid handshake signature.
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
