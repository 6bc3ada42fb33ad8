//! [`QuicStats`]: a listener's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a [`QuicListener`](crate::QuicListener)'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuicStats {
    /// Connections currently held (handshaking, waiting for their stream, or serving).
    pub connections_active: u64,
    /// Streams handed out by `accept`.
    pub accepted: u64,
    /// Peers refused because [`QuicLimits::max_connections`](crate::QuicLimits::max_connections)
    /// was reached or the backlog was full.
    pub refused: u64,
    /// Handshakes that failed: wrong or missing client certificate, ALPN mismatch, timeouts.
    pub handshakes_failed: u64,
    /// Connections that ended before opening their stream, or opened a second one.
    pub streams_failed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections_active: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) handshakes_failed: AtomicU64,
    pub(crate) streams_failed: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> QuicStats {
        QuicStats {
            connections_active: self.connections_active.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            handshakes_failed: self.handshakes_failed.load(Ordering::Relaxed),
            streams_failed: self.streams_failed.load(Ordering::Relaxed),
        }
    }
}
