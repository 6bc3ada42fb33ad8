//! [`WsStats`]: a listener's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a [`WsListener`](crate::WsListener)'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsStats {
    /// Connections currently held (handshaking or serving).
    pub connections_active: u64,
    /// Streams handed out by `accept`.
    pub accepted: u64,
    /// Connections refused because [`WsConfig::max_connections`](crate::WsConfig::max_connections)
    /// was reached or the backlog was full.
    pub refused: u64,
    /// Failed upgrades: TLS errors, wrong paths, malformed or non-WebSocket requests, timeouts.
    pub handshakes_failed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections_active: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) handshakes_failed: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> WsStats {
        WsStats {
            connections_active: self.connections_active.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            handshakes_failed: self.handshakes_failed.load(Ordering::Relaxed),
        }
    }
}
