//! [`ServerStats`]: the server's own counters, as gorpc keeps them, independent of any
//! metrics exporter.
//!
//! They are updated where the server already does the work: bytes once per read or write
//! system call (by the [`Counted`](fastrpc_transport::Counted) halves every connection is
//! served through), one relaxed add per call, and the rare paths (errors, accepts) as they
//! happen.

use fastrpc_transport::IoCounters;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counters behind [`ServerStats`], shared by the server and its connections.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Bytes and I/O errors of every connection's socket (read errors also count frames that
    /// could not be decoded and frames not completed in time).
    pub(crate) io: Arc<IoCounters>,
    pub(crate) calls: AtomicU64,
    pub(crate) handler_errors: AtomicU64,
    pub(crate) accept_errors: AtomicU64,
    pub(crate) accepted_connections: AtomicU64,
    pub(crate) refused_connections: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn one(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, open_connections: usize) -> ServerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            bytes_read: get(&self.io.bytes_read),
            bytes_written: get(&self.io.bytes_written),
            calls: get(&self.calls),
            handler_errors: get(&self.handler_errors),
            read_errors: get(&self.io.read_errors),
            write_errors: get(&self.io.write_errors),
            accept_errors: get(&self.accept_errors),
            accepted_connections: get(&self.accepted_connections),
            refused_connections: get(&self.refused_connections),
            open_connections,
        }
    }
}

/// A snapshot of a server's counters since it was built ([`Server::stats`](crate::Server::stats)),
/// gorpc's `ConnStats` for a server. Counters are read one by one without a lock: each is
/// exact, but two of them may be a moment apart under load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Bytes read from connections (frames as they came off the wire, compressed or not).
    pub bytes_read: u64,
    /// Bytes written to connections (replies, heartbeat echoes, pushes).
    pub bytes_written: u64,
    /// Requests read and let through by the plugins' `post_read_request` (heartbeats, and
    /// requests a plugin refused there, such as a rate limit, are not calls); oneway requests
    /// and requests then refused by auth or shutdown count.
    pub calls: u64,
    /// Calls whose handler step ended in an error: the method's own errors, unknown services
    /// and methods, plugin refusals, deadlines and panics.
    pub handler_errors: u64,
    /// Failed reads: socket errors, frames that could not be decoded, frames not completed
    /// within the frame time limit.
    pub read_errors: u64,
    /// Failed writes and flushes on connections.
    pub write_errors: u64,
    /// Failed accepts on listeners (out of file descriptors, ...).
    pub accept_errors: u64,
    /// Connections served: admitted under the connection cap and let in by every plugin.
    pub accepted_connections: u64,
    /// Connections refused at the connection cap or by a plugin (an access list, an accept
    /// rate limit).
    pub refused_connections: u64,
    /// Connections open now.
    pub open_connections: usize,
}
