//! `network@addr` server keys, as rpcx writes them in registries and XClient.

use std::fmt;

/// A server address with its network, such as `tcp@127.0.0.1:8972` or `unix@/run/app.sock`.
///
/// Parsing splits at the first `@`; with no `@` the network is `tcp`, as in Go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerAddr {
    /// The network: `tcp`, `tcp4`, `tcp6`, `unix`, `quic`, `kcp`, `http`, ...
    pub network: String,
    /// The address within that network (`host:port`, or a path for `unix`).
    pub address: String,
}

/// An unusable server key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing after the `@` (or an empty string).
    #[error("empty address in server key {0:?}")]
    Empty(String),
    /// Nothing before the `@`.
    #[error("empty network in server key {0:?}")]
    EmptyNetwork(String),
}

impl ServerAddr {
    /// Parses a `network@addr` key.
    pub fn parse(key: &str) -> Result<ServerAddr, AddressError> {
        let (network, address) = match key.split_once('@') {
            Some((n, a)) => (n, a),
            None => ("tcp", key),
        };
        if network.is_empty() {
            return Err(AddressError::EmptyNetwork(key.to_owned()));
        }
        if address.is_empty() {
            return Err(AddressError::Empty(key.to_owned()));
        }
        Ok(ServerAddr {
            network: network.to_owned(),
            address: address.to_owned(),
        })
    }

    /// A `tcp@addr` key.
    pub fn tcp(address: impl Into<String>) -> ServerAddr {
        ServerAddr {
            network: "tcp".to_owned(),
            address: address.into(),
        }
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.network, self.address)
    }
}

impl std::str::FromStr for ServerAddr {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<ServerAddr, AddressError> {
        ServerAddr::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        let a = ServerAddr::parse("tcp@127.0.0.1:8972").unwrap();
        assert_eq!(
            (a.network.as_str(), a.address.as_str()),
            ("tcp", "127.0.0.1:8972")
        );
        assert_eq!(ServerAddr::parse("127.0.0.1:1").unwrap().network, "tcp");
        let u = ServerAddr::parse("unix@/tmp/a@b.sock").unwrap();
        assert_eq!(u.address, "/tmp/a@b.sock");
        assert_eq!(u.to_string(), "unix@/tmp/a@b.sock");
        assert!(ServerAddr::parse("tcp@").is_err());
        assert!(ServerAddr::parse("@x").is_err());
    }
}
