//! The [`Discovery`] trait: where the servers of a service are, and how that list changes.

use crate::ServerEntry;
use std::fmt;
use std::sync::Arc;
use tokio::sync::watch;

/// A snapshot of the servers of one service. Cheap to clone and to share between tasks.
pub type ServerList = Arc<[ServerEntry]>;

/// A source of server lists: a registry, a DNS name, a fixed list.
///
/// Implementations keep the latest list in a [`watch`] channel; every change is a whole new
/// list (full snapshots, as rpcx's `WatchService` does). `servers()` and `watch()` must be
/// cheap: they are called when clients are built.
///
/// Registry implementations report what the registry says, unfiltered (inactive servers and
/// other groups included: the client filters). While the registry is unreachable they keep
/// the last list they had; they never publish an empty list because a read failed.
pub trait Discovery: Send + Sync + 'static {
    /// A receiver whose value is the current list and which is notified on every change.
    ///
    /// When the discovery stops for good, the sender side is dropped and the receiver sees
    /// the channel close; the last list stays readable.
    fn watch(&self) -> watch::Receiver<ServerList>;

    /// The current list.
    fn servers(&self) -> ServerList {
        self.watch().borrow().clone()
    }

    /// The same source for another service path (rpcx's `Clone(servicePath)`), used by
    /// the XClient's `OneClient` to serve many services from one template discovery.
    ///
    /// Registry discoveries list `{base}/{service_path}`; the built-in ones return the same
    /// servers whatever the path.
    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery>;

    /// Stops background work (watches, timers). The default does nothing.
    fn close(&self) {}
}

impl fmt::Debug for dyn Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("servers", &self.servers())
            .finish()
    }
}

impl<D: Discovery + ?Sized> Discovery for Arc<D> {
    fn watch(&self) -> watch::Receiver<ServerList> {
        (**self).watch()
    }

    fn servers(&self) -> ServerList {
        (**self).servers()
    }

    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery> {
        (**self).clone_for_service(service_path)
    }

    fn close(&self) {
        (**self).close()
    }
}
