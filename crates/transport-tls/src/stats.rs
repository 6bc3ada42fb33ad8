//! [`TlsStats`]: a listener's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a [`TlsListener`](crate::TlsListener)'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsStats {
    /// Handshakes running now (at most [`TlsLimits::max_handshakes`](crate::TlsLimits::max_handshakes)).
    pub handshakes_pending: u64,
    /// Connections handed out by `accept` after a successful handshake.
    pub accepted: u64,
    /// Failed handshakes: untrusted or missing client certificates, bytes that are not TLS,
    /// timeouts, peers that went away.
    pub handshakes_failed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) handshakes_pending: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) handshakes_failed: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> TlsStats {
        TlsStats {
            handshakes_pending: self.handshakes_pending.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            handshakes_failed: self.handshakes_failed.load(Ordering::Relaxed),
        }
    }
}
