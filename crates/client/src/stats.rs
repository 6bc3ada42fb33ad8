//! What a connection holds, from the client's own accounting.

/// A snapshot of one connection's byte budgets and counters (gorpc's `ConnStats`), from [`Client::stats`](crate::Client::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Calls sent (or being sent) and waiting for their reply.
    pub pending_calls: usize,
    /// Bytes of calls in flight: each call's request frame plus a fixed 256 bytes, from the
    /// call's start until it returns. Bounded by
    /// [`ClientOptions::max_pending_bytes`](crate::ClientOptions::max_pending_bytes) plus one
    /// call.
    pub pending_bytes: usize,
    /// Bytes of replies read and not yet taken by their callers. Bounded by
    /// [`ClientOptions::max_pending_bytes`](crate::ClientOptions::max_pending_bytes) plus one
    /// frame: past it the client stops reading the connection.
    pub unclaimed_reply_bytes: usize,
    /// Bytes of requests not yet handed to the OS. Bounded by
    /// [`ClientOptions::max_queued_bytes`](crate::ClientOptions::max_queued_bytes) plus one
    /// frame.
    pub queued_bytes: usize,
    /// Bytes of server pushes queued for the push receiver. Bounded by
    /// [`ClientOptions::max_push_bytes`](crate::ClientOptions::max_push_bytes) plus one frame.
    pub push_queued_bytes: usize,
    /// Server pushes dropped because the push queue was full (without `push_blocking`).
    pub pushes_dropped: u64,
    /// Bytes read from the connection since it opened (counted per read system call).
    pub bytes_read: u64,
    /// Bytes written to the connection since it opened (counted per write system call).
    pub bytes_written: u64,
    /// Calls sent (oneway ones included, heartbeats not).
    pub calls: u64,
    /// Failed reads: socket errors and replies that could not be decoded (a connection
    /// that fails to connect has no `Client`, so connect errors are the caller's to count).
    pub read_errors: u64,
    /// Failed writes and flushes.
    pub write_errors: u64,
}
