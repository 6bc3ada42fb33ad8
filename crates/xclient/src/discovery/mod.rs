//! Service discovery: where the servers of a service are, and how that list changes.
//!
//! A [`Discovery`] hands out the current server list and a watch receiver that sees every
//! new list (full snapshots, as rpcx's `WatchService` does). The trait and the entry type live
//! in the small `fastrpc-discovery` crate, the meeting point for every registry crate (etcd,
//! ZooKeeper, Consul, Redis, mDNS), and are re-exported here with the three discoveries that
//! need no registry:
//!
//! * [`Peer2PeerDiscovery`]: one fixed server;
//! * [`MultipleServersDiscovery`]: a list the program updates at run time;
//! * [`DnsDiscovery`]: a DNS name resolved periodically into `network@ip:port` keys.
//!
//! Discoveries report what the registry says, unfiltered. The XClient applies a
//! [`ServerFilter`] on every update: `state=inactive` servers are dropped and, when the client
//! has a group, only servers with a matching `group` value remain.

pub use fastrpc_discovery::{
    Discovery, DnsDiscovery, MultipleServersDiscovery, Peer2PeerDiscovery, RegistryError,
    RegistryUrl, ServerEntry, ServerList, builtin_discovery,
};

use std::fmt;
use std::sync::Arc;

/// A user predicate on servers, applied after the built-in rules (rpcx's `SetFilter`).
pub type FilterFn = Arc<dyn Fn(&ServerEntry) -> bool + Send + Sync>;

/// The rules that decide which discovered servers a client may use.
#[derive(Clone, Default)]
pub struct ServerFilter {
    /// The client's group (rpcx `Option.Group`): when set, only servers with a matching
    /// `group=` value are kept.
    pub group: Option<String>,
    /// An extra predicate; a server is kept when it returns true.
    pub custom: Option<FilterFn>,
}

impl ServerFilter {
    /// True when `entry` may be used: not `state=inactive`, in the group, accepted by `custom`.
    pub fn accepts(&self, entry: &ServerEntry) -> bool {
        if entry.is_inactive() {
            return false;
        }
        if let Some(group) = self.group.as_deref().filter(|g| !g.is_empty()) {
            if !entry.in_group(group) {
                return false;
            }
        }
        self.custom.as_ref().is_none_or(|f| f(entry))
    }

    /// The servers of `list` this filter accepts, in order.
    pub fn apply(&self, list: &[ServerEntry]) -> ServerList {
        list.iter().filter(|e| self.accepts(e)).cloned().collect()
    }

    /// Like [`apply`](Self::apply), but shares `list` itself when every server is accepted
    /// (the common case), without copying an entry.
    pub fn apply_shared(&self, list: &ServerList) -> ServerList {
        if list.iter().all(|e| self.accepts(e)) {
            list.clone()
        } else {
            self.apply(list)
        }
    }
}

impl fmt::Debug for ServerFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerFilter")
            .field("group", &self.group)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_drops_inactive_and_other_groups() {
        let list = vec![
            ServerEntry::new("tcp@a:1", "group=g1&group=g2"),
            ServerEntry::new("tcp@b:1", "group=g2&state=inactive"),
            ServerEntry::new("tcp@c:1", "group=g3"),
            ServerEntry::new("tcp@d:1", ""),
        ];
        let keys = |l: ServerList| l.iter().map(|e| e.key().to_owned()).collect::<Vec<_>>();

        let none = ServerFilter::default();
        assert_eq!(keys(none.apply(&list)), ["tcp@a:1", "tcp@c:1", "tcp@d:1"]);

        let g2 = ServerFilter {
            group: Some("g2".into()),
            custom: None,
        };
        assert_eq!(keys(g2.apply(&list)), ["tcp@a:1"]);

        let custom = ServerFilter {
            group: None,
            custom: Some(Arc::new(|e: &ServerEntry| e.key() != "tcp@d:1")),
        };
        assert_eq!(keys(custom.apply(&list)), ["tcp@a:1", "tcp@c:1"]);
    }
}
