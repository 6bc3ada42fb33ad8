//! The server's TLS configuration (feature `tls`): what `ServerBuilder::tls` holds until an
//! address is served.

use fastrpc_transport::network::tls::{ServerTls, rustls};
use std::io;
use std::sync::Arc;

/// A built rustls configuration, or why rustls refused it (reported when serving).
#[derive(Clone, Debug)]
pub(crate) enum TlsSetting {
    Config(Arc<rustls::ServerConfig>),
    Invalid(Arc<str>),
}

impl TlsSetting {
    pub(crate) fn from_server_tls(tls: &ServerTls) -> TlsSetting {
        match tls.to_rustls() {
            Ok(c) => TlsSetting::Config(Arc::new(c)),
            Err(e) => TlsSetting::Invalid(e.to_string().into()),
        }
    }

    pub(crate) fn config(&self) -> io::Result<Arc<rustls::ServerConfig>> {
        match self {
            TlsSetting::Config(c) => Ok(c.clone()),
            TlsSetting::Invalid(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, &**e)),
        }
    }
}
