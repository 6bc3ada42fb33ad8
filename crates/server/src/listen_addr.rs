//! [`ListenAddr`]: where a listener is bound, for every network (an IP socket address, a
//! Unix socket path, or a name).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The bound address of a [`ServerHandle`](crate::ServerHandle), without its `network@`
/// (see [`ServerHandle::addr`](crate::ServerHandle::addr) for the full key).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenAddr {
    /// An IP listener (`tcp`, `tls`, `quic`, `kcp`, `ws`, `http`, `reuseport`, ...), with the
    /// port chosen when `:0` was asked for.
    Ip(SocketAddr),
    /// A Unix domain socket (`unix@/path`).
    Unix(PathBuf),
    /// Any other network (`memu@name`, a user's network): the address as its listener names it.
    Other {
        /// The network name.
        network: String,
        /// The address within the network.
        addr: String,
    },
}

impl ListenAddr {
    /// The IP socket address, `None` for networks without one.
    pub fn ip(&self) -> Option<SocketAddr> {
        match self {
            ListenAddr::Ip(a) => Some(*a),
            _ => None,
        }
    }

    /// The port of an IP listener.
    pub fn port(&self) -> Option<u16> {
        self.ip().map(|a| a.port())
    }
}

impl fmt::Display for ListenAddr {
    /// `ip:port`, the socket path, or the name: the part after `network@`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Ip(a) => a.fmt(f),
            ListenAddr::Unix(p) => p.display().fmt(f),
            ListenAddr::Other { addr, .. } => f.write_str(addr),
        }
    }
}
