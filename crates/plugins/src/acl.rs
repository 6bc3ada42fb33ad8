//! Access lists: allow and deny lists of IPs and CIDR ranges, checked when a connection is
//! accepted.
//!
//! rpcx's whitelist and blacklist plugins take single IPs; [`AccessList`] takes ranges too
//! (`10.0.0.0/8`, `fd00::/8`), parsed by `ipnet`, the crate the Rust ecosystem (hyper,
//! reqwest) uses for CIDR ranges. A denied connection is closed before a byte is read.

use fastrpc_server::{Connection, ServerPlugin};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// A range that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or CIDR range: {0:?}")]
pub struct AclParseError(pub String);

/// Allow and deny lists of addresses and ranges, as a server plugin.
///
/// The rules: a peer in a deny range is refused; otherwise, if any allow range is set, the
/// peer must be in one of them; with no allow range everyone else is served. An IPv4 peer
/// seen through an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is matched as IPv4. A peer
/// whose address is not an IP (a connection served with `serve_connection` under another
/// name) is refused when an allow list is set, and served otherwise.
#[derive(Debug, Clone, Default)]
pub struct AccessList {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

impl AccessList {
    /// Empty lists: everyone is served.
    pub fn new() -> AccessList {
        AccessList::default()
    }

    /// Adds `range` (an address such as `127.0.0.2`, or a range such as `10.0.0.0/8`) to the
    /// allow list.
    pub fn allow(mut self, range: &str) -> Result<Self, AclParseError> {
        self.allow.push(parse(range)?);
        Ok(self)
    }

    /// Adds `range` to the deny list, which wins over the allow list.
    pub fn deny(mut self, range: &str) -> Result<Self, AclParseError> {
        self.deny.push(parse(range)?);
        Ok(self)
    }

    /// True when `ip` may connect.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.deny.iter().any(|n| n.contains(&ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|n| n.contains(&ip))
    }

    /// True when a peer named `peer` (`ip:port` or a bare IP) may connect.
    pub fn permits_peer(&self, peer: &str) -> bool {
        let ip = peer
            .parse::<SocketAddr>()
            .map(|a| a.ip())
            .or_else(|_| peer.parse::<IpAddr>());
        match ip {
            Ok(ip) => self.permits(ip),
            Err(_) => self.allow.is_empty(),
        }
    }
}

fn parse(range: &str) -> Result<IpNet, AclParseError> {
    let range = range.trim();
    range
        .parse::<IpNet>()
        .or_else(|_| range.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| AclParseError(range.to_owned()))
}

impl ServerPlugin for AccessList {
    fn post_conn_accept(&self, conn: &Connection) -> bool {
        let ok = self.permits_peer(conn.peer_addr());
        if !ok {
            tracing::debug!(
                peer = conn.peer_addr(),
                "access list refused the connection"
            );
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_and_allow_restricts() {
        let acl = AccessList::new()
            .allow("127.0.0.0/8")
            .unwrap()
            .deny("127.0.0.3")
            .unwrap();
        assert!(acl.permits_peer("127.0.0.2:1000"));
        assert!(!acl.permits_peer("127.0.0.3:1000"));
        assert!(!acl.permits_peer("10.1.2.3:1000"));
        assert!(acl.permits_peer("[::ffff:127.0.0.9]:80"));
        assert!(!acl.permits_peer("in-memory"));
        assert!(AccessList::new().permits_peer("in-memory"));
        assert_eq!(
            AccessList::new().allow("300.1.1.1").unwrap_err(),
            AclParseError("300.1.1.1".into())
        );
        let v6 = AccessList::new().deny("fd00::/8").unwrap();
        assert!(!v6.permits_peer("[fd12::1]:9"));
        assert!(v6.permits_peer("[fe80::1]:9"));
    }
}
