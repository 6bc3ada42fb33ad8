//! TLS for QUIC: the certificate types of `fastrpc-transport-tls` ([`ServerTls`],
//! [`ClientTls`], [`Identity`], the development mode's [`DevCert`]), turned into QUIC's rustls
//! configurations here.
//!
//! QUIC always runs TLS 1.3. Both sides offer ALPN [`ALPN`] (`rpcx`), as Go rpcx's quic
//! network does, so a peer speaking another protocol fails the handshake.

pub use fastrpc_transport_tls::{ClientTls, DevCert, Identity, ServerTls, read_certs};

use crate::error::QuicError;

/// The ALPN protocol id both sides offer.
pub const ALPN: &[u8] = b"rpcx";

/// The server's rustls configuration for QUIC: TLS 1.3, ALPN `rpcx`.
pub(crate) fn server_config(tls: &ServerTls) -> Result<rustls::ServerConfig, QuicError> {
    Ok(tls.rustls_config(&[&rustls::version::TLS13], &[ALPN])?)
}

/// The client's rustls configuration for QUIC: TLS 1.3, ALPN `rpcx`.
pub(crate) fn client_config(tls: &ClientTls) -> Result<rustls::ClientConfig, QuicError> {
    Ok(tls.rustls_config(&[&rustls::version::TLS13], &[ALPN])?)
}
