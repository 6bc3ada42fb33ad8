//! Why a `network@addr` could not be listened on or dialed.

use std::io;

/// An error of the network registry: the network is unknown or not compiled in, the address
/// does not parse, or listening failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// No transport is registered under this network name.
    #[error("unknown network {network:?} (registered: {registered})")]
    Unknown {
        /// The network asked for.
        network: String,
        /// The networks registered now, comma-separated.
        registered: String,
    },
    /// A network rpcx knows whose transport crate is not compiled in.
    #[error(
        "network {network:?} is not compiled in: enable the `{feature}` feature of the `fastrpc` crate"
    )]
    NotCompiled {
        /// The network asked for.
        network: String,
        /// The `fastrpc` Cargo feature that brings it in.
        feature: &'static str,
    },
    /// The address is not a valid `network@addr`, or not valid for its network.
    #[error("invalid address {0:?}")]
    InvalidAddress(String),
    /// The built-in TCP networks cannot be replaced (the server and client take a fast path
    /// for them).
    #[error("network {0:?} is built in and cannot be replaced")]
    Reserved(String),
    /// Binding or dialing failed.
    #[error("{addr}: {source}")]
    Io {
        /// The `network@addr` concerned.
        addr: String,
        /// The OS or transport error.
        #[source]
        source: io::Error,
    },
}

impl NetworkError {
    /// The error as an `std::io::Error` (kind `Unsupported` for an unknown or missing network,
    /// `InvalidInput` for a bad address, the I/O error itself otherwise).
    pub fn into_io(self) -> io::Error {
        match self {
            NetworkError::Io { source, .. } => source,
            e @ (NetworkError::Unknown { .. } | NetworkError::NotCompiled { .. }) => {
                io::Error::new(io::ErrorKind::Unsupported, e)
            }
            e => io::Error::new(io::ErrorKind::InvalidInput, e),
        }
    }
}
