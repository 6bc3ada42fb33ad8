//! Counters a listener or a dialed stream keeps: what came in, what was dropped and why.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a socket's counters ([`KcpListener::stats`](crate::KcpListener::stats),
/// [`KcpStream::stats`](crate::KcpStream::stats)). Bad datagrams are counted here, never logged
/// one by one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KcpStats {
    /// Datagrams read from the socket.
    pub datagrams_in: u64,
    /// Datagrams written to the socket.
    pub datagrams_out: u64,
    /// Dropped: shorter than the headers plus one KCP segment header.
    pub dropped_short: u64,
    /// Dropped: CRC32 mismatch (corrupt, or another key).
    pub dropped_checksum: u64,
    /// Dropped: a bad FEC header or size field, or KCP segments that do not parse.
    pub dropped_malformed: u64,
    /// Dropped: no session for it and none opened (a parity shard or an ACK of an unknown peer,
    /// or data of a session that already ended).
    pub dropped_no_session: u64,
    /// New peers refused because `max_sessions` or `accept_backlog` was reached.
    pub sessions_refused: u64,
    /// Sessions open now.
    pub sessions_active: u64,
    /// Data shards rebuilt from parity.
    pub fec_recovered: u64,
    /// Parity shards received.
    pub fec_parity_in: u64,
    /// Sessions closed by the dead-link rule or the idle timeout.
    pub sessions_timed_out: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) datagrams_in: AtomicU64,
    pub(crate) datagrams_out: AtomicU64,
    pub(crate) dropped_short: AtomicU64,
    pub(crate) dropped_checksum: AtomicU64,
    pub(crate) dropped_malformed: AtomicU64,
    pub(crate) dropped_no_session: AtomicU64,
    pub(crate) sessions_refused: AtomicU64,
    pub(crate) sessions_active: AtomicU64,
    pub(crate) fec_recovered: AtomicU64,
    pub(crate) fec_parity_in: AtomicU64,
    pub(crate) sessions_timed_out: AtomicU64,
}

impl Counters {
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> KcpStats {
        KcpStats {
            datagrams_in: self.datagrams_in.load(Relaxed),
            datagrams_out: self.datagrams_out.load(Relaxed),
            dropped_short: self.dropped_short.load(Relaxed),
            dropped_checksum: self.dropped_checksum.load(Relaxed),
            dropped_malformed: self.dropped_malformed.load(Relaxed),
            dropped_no_session: self.dropped_no_session.load(Relaxed),
            sessions_refused: self.sessions_refused.load(Relaxed),
            sessions_active: self.sessions_active.load(Relaxed),
            fec_recovered: self.fec_recovered.load(Relaxed),
            fec_parity_in: self.fec_parity_in.load(Relaxed),
            sessions_timed_out: self.sessions_timed_out.load(Relaxed),
        }
    }
}
