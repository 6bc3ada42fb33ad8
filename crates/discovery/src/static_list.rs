//! Discoveries without a registry: one fixed server, or a list the program updates.

use crate::{Discovery, ServerEntry, ServerList};
use std::sync::Arc;
use tokio::sync::watch;

/// One fixed server (rpcx's `NewPeer2PeerDiscovery`). The list never changes.
#[derive(Clone, Debug)]
pub struct Peer2PeerDiscovery {
    tx: Arc<watch::Sender<ServerList>>,
}

impl Peer2PeerDiscovery {
    /// A discovery that always reports `key` (`tcp@127.0.0.1:8972`) with `metadata` (a URL
    /// query, often empty).
    pub fn new(key: impl Into<String>, metadata: impl Into<String>) -> Peer2PeerDiscovery {
        let list: ServerList = Arc::from(vec![ServerEntry::new(key, metadata)]);
        Peer2PeerDiscovery {
            tx: Arc::new(watch::Sender::new(list)),
        }
    }
}

impl Discovery for Peer2PeerDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.tx.subscribe()
    }

    fn clone_for_service(&self, _service_path: &str) -> Arc<dyn Discovery> {
        Arc::new(self.clone())
    }
}

/// A list of servers that the program replaces at run time (rpcx's
/// `NewMultipleServersDiscovery` and `Update`).
///
/// Clones share the list: an [`update`](Self::update) through any clone reaches every client
/// built from any of them.
#[derive(Clone, Debug)]
pub struct MultipleServersDiscovery {
    tx: Arc<watch::Sender<ServerList>>,
}

impl MultipleServersDiscovery {
    /// A discovery that starts with `servers`.
    pub fn new(servers: impl IntoIterator<Item = ServerEntry>) -> MultipleServersDiscovery {
        let list: ServerList = servers.into_iter().collect();
        MultipleServersDiscovery {
            tx: Arc::new(watch::Sender::new(list)),
        }
    }

    /// Replaces the list and notifies every watcher. To take a server out of rotation
    /// without removing it, give it `state=inactive` metadata.
    pub fn update(&self, servers: impl IntoIterator<Item = ServerEntry>) {
        let list: ServerList = servers.into_iter().collect();
        self.tx.send_replace(list);
    }
}

impl Discovery for MultipleServersDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.tx.subscribe()
    }

    fn clone_for_service(&self, _service_path: &str) -> Arc<dyn Discovery> {
        Arc::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn multiple_servers_pushes_updates() {
        let d = MultipleServersDiscovery::new([ServerEntry::new("tcp@a:1", "")]);
        let mut rx = d.watch();
        assert_eq!(rx.borrow_and_update().len(), 1);
        let other: Arc<dyn Discovery> = d.clone_for_service("Other");
        d.update([
            ServerEntry::new("tcp@a:1", ""),
            ServerEntry::new("tcp@b:1", "state=inactive"),
        ]);
        rx.changed().await.unwrap();
        assert_eq!(rx.borrow_and_update().len(), 2);
        assert_eq!(other.servers().len(), 2);
    }

    #[test]
    fn peer2peer_is_fixed() {
        let d = Peer2PeerDiscovery::new("tcp@127.0.0.1:8972", "weight=3");
        let list = d.servers();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].weight(), 3);
    }
}
