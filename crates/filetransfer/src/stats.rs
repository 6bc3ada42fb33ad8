//! The side listener's own accounting: what moved, what was refused, and the most bytes it
//! held in buffers at once (the figure that shows a transfer is streamed, not buffered).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// A snapshot of a side listener's counters ([`FileTransferService::stats`](crate::FileTransferService::stats),
/// [`StreamServiceHandle::stats`](crate::StreamServiceHandle::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SideStats {
    /// Tokens handed out by `TransferFile`, `DownloadFile` or `Stream`.
    pub tokens_issued: u64,
    /// Token requests answered with an error because the table was full.
    pub tokens_refused_full: u64,
    /// Side connections closed because their token was unknown, already used or expired.
    pub tokens_rejected: u64,
    /// Side connections closed because no token came in time, or a transfer stalled.
    pub timed_out: u64,
    /// Side connections closed at once because `max_connections` were open.
    pub connections_refused: u64,
    /// Uploads whose handler returned `Ok`.
    pub uploads_completed: u64,
    /// Downloads copied to the end of the handler's reader.
    pub downloads_completed: u64,
    /// Streams handed to their handler.
    pub streams_opened: u64,
    /// File bytes read from clients by upload handlers.
    pub bytes_received: u64,
    /// File bytes written to clients by downloads.
    pub bytes_sent: u64,
    /// Bytes held in the listener's own buffers right now, over all connections.
    pub buffered_bytes: usize,
    /// The most bytes the listener held in its own buffers at once, over all connections.
    pub peak_buffered_bytes: usize,
}

/// Live counters, shared by the accept loop and every side connection.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) tokens_issued: AtomicU64,
    pub(crate) tokens_refused_full: AtomicU64,
    pub(crate) tokens_rejected: AtomicU64,
    pub(crate) timed_out: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) uploads_completed: AtomicU64,
    pub(crate) downloads_completed: AtomicU64,
    pub(crate) streams_opened: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    buffered: AtomicUsize,
    peak_buffered: AtomicUsize,
}

impl Counters {
    /// Adds one to `c`.
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    /// Accounts a buffer of `n` bytes until the guard drops.
    pub(crate) fn hold(&self, n: usize) -> BufferGuard<'_> {
        let now = self.buffered.fetch_add(n, Relaxed) + n;
        self.peak_buffered.fetch_max(now, Relaxed);
        BufferGuard { counters: self, n }
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self) -> SideStats {
        SideStats {
            tokens_issued: self.tokens_issued.load(Relaxed),
            tokens_refused_full: self.tokens_refused_full.load(Relaxed),
            tokens_rejected: self.tokens_rejected.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            connections_refused: self.connections_refused.load(Relaxed),
            uploads_completed: self.uploads_completed.load(Relaxed),
            downloads_completed: self.downloads_completed.load(Relaxed),
            streams_opened: self.streams_opened.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            buffered_bytes: self.buffered.load(Relaxed),
            peak_buffered_bytes: self.peak_buffered.load(Relaxed),
        }
    }
}

/// A buffer accounted in [`Counters`]; releases its bytes when dropped.
pub(crate) struct BufferGuard<'a> {
    counters: &'a Counters,
    n: usize,
}

impl Drop for BufferGuard<'_> {
    fn drop(&mut self) {
        self.counters.buffered.fetch_sub(self.n, Relaxed);
    }
}
