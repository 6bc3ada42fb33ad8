//! Certificates and keys: [`Identity`] from PEM or DER, [`read_certs`], and the development
//! mode's self-signed [`DevCert`].

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::TlsError;

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
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Identity, TlsError> {
        let chain = read_certs(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| TlsError::Pem(format!("private key: {e}")))?;
        Ok(Identity { chain, key })
    }

    /// Reads the PEM files of a certificate chain and its private key (Go's
    /// `tls.LoadX509KeyPair`).
    pub fn from_pem_files(
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Identity, TlsError> {
        let read =
            |p: &Path| std::fs::read(p).map_err(|e| TlsError::Pem(format!("{}: {e}", p.display())));
        Identity::from_pem(&read(chain.as_ref())?, &read(key.as_ref())?)
    }

    /// An identity from DER: the chain (leaf first) and a PKCS#8 private key.
    pub fn from_der(chain: Vec<Vec<u8>>, pkcs8_key: Vec<u8>) -> Result<Identity, TlsError> {
        if chain.is_empty() {
            return Err(TlsError::Pem("empty certificate chain".into()));
        }
        Ok(Identity {
            chain: chain.into_iter().map(CertificateDer::from).collect(),
            key: PrivatePkcs8KeyDer::from(pkcs8_key).into(),
        })
    }
}

/// Reads every certificate in a PEM bundle; at least one must be there.
pub fn read_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(format!("certificate: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Pem("no certificate in the PEM input".into()));
    }
    Ok(certs)
}

/// Reads every certificate in a PEM file (a CA bundle, say); at least one must be there.
pub fn read_cert_file(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let p = path.as_ref();
    let pem = std::fs::read(p).map_err(|e| TlsError::Pem(format!("{}: {e}", p.display())))?;
    read_certs(&pem)
}

/// A self-signed certificate for development, made with rcgen. For tests and examples only:
/// a client trusts it either by adding [`DevCert::cert`] to its roots or, in development mode
/// only, by skipping verification (`ClientTls::development`).
#[derive(Clone, Debug)]
pub struct DevCert {
    /// The certificate and key.
    pub identity: Identity,
}

impl DevCert {
    /// A fresh self-signed certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn localhost() -> Result<DevCert, TlsError> {
        DevCert::for_names(&["localhost", "127.0.0.1", "::1"])
    }

    /// A fresh self-signed certificate for the given DNS names or IP addresses.
    pub fn for_names(names: &[&str]) -> Result<DevCert, TlsError> {
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
