//! Server options: limits, timeouts and byte budgets, each with a safe default.
//!
//! `docs/ARCHITECTURE.md` ("Budgets") lists every budget, its default and what happens when it
//! is reached.

use fastrpc_core::Limits;
use std::time::Duration;

/// Settings of a [`Server`](crate::Server). Every limit has a safe default, sized for a small
/// host (a few hundred MiB at most held for peers, whatever they send).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Bounds on received frames (frame length, decompressed length, metadata pairs and bytes).
    pub limits: Limits,
    /// Time allowed for each next message to arrive (Go's `WithReadTimeout`: a deadline set
    /// before every message read). Default none.
    pub read_timeout: Option<Duration>,
    /// Bound on each socket write (Go's `WithWriteTimeout`); on expiry the connection is
    /// closed. Default 60 s, so a peer that stops reading is dropped and what it held is
    /// freed (Go clients always read their connection, so they never meet it).
    pub write_timeout: Option<Duration>,
    /// Close a connection that sent nothing for this long while none of its requests were in
    /// flight. Default none: a plain Go rpcx `Client` keeps an idle connection for ever and
    /// does not reconnect when it is closed, so a default idle timeout would break it. Dead
    /// peers go away through TCP keep-alive (3 min), and idle connections are cheap and
    /// capped by [`ServerOptions::max_connections`].
    pub idle_timeout: Option<Duration>,
    /// Time allowed for a frame to arrive whole once its first bytes arrived; past it the
    /// connection is closed (a peer that announces a large frame and trickles it, or stops,
    /// holds nothing for long). Default 30 s.
    pub frame_timeout: Option<Duration>,
    /// Requests of one connection that may run at once; when reached, the server stops
    /// reading that connection until one finishes (backpressure). Default 1024.
    pub max_concurrent_requests: usize,
    /// Reply bytes queued for one connection's writer and not yet written; while at or over
    /// it, the server reads nothing more from that connection. Default 4 MiB.
    pub max_queued_reply_bytes: usize,
    /// Bytes of one connection's requests in flight, counted from when a request is read until
    /// its reply is written; at it, the server stops reading that connection. Default 32 MiB.
    pub max_in_flight_request_bytes: usize,
    /// The same, for all connections together; at it, the server stops reading every
    /// connection until replies are written. Default 256 MiB.
    pub max_server_in_flight_request_bytes: usize,
    /// Bytes held in read buffers of frames not yet whole, for all connections together
    /// (beyond each connection's first 1 KiB); at it, connections receiving large frames wait
    /// for room (and are closed at the frame time limit). Default 256 MiB; never less than one
    /// frame of [`Limits::max_frame_len`], so the largest frame allowed can always complete.
    pub max_partial_frame_bytes: usize,
    /// Connections served at once; beyond it a new connection is closed at once (with a
    /// rate-limited log line). Default 10,000.
    pub max_connections: usize,
}

impl ServerOptions {
    /// Default for [`ServerOptions::write_timeout`].
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default for [`ServerOptions::frame_timeout`].
    pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default for [`ServerOptions::max_queued_reply_bytes`].
    pub const DEFAULT_MAX_QUEUED_REPLY_BYTES: usize = 4 << 20;
    /// Default for [`ServerOptions::max_in_flight_request_bytes`].
    pub const DEFAULT_MAX_IN_FLIGHT_REQUEST_BYTES: usize = 32 << 20;
    /// Default for [`ServerOptions::max_server_in_flight_request_bytes`].
    pub const DEFAULT_MAX_SERVER_IN_FLIGHT_REQUEST_BYTES: usize = 256 << 20;
    /// Default for [`ServerOptions::max_partial_frame_bytes`].
    pub const DEFAULT_MAX_PARTIAL_FRAME_BYTES: usize = 256 << 20;
    /// Default for [`ServerOptions::max_connections`].
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            limits: Limits::default(),
            read_timeout: None,
            write_timeout: Some(Self::DEFAULT_WRITE_TIMEOUT),
            idle_timeout: None,
            frame_timeout: Some(Self::DEFAULT_FRAME_TIMEOUT),
            max_concurrent_requests: 1024,
            max_queued_reply_bytes: Self::DEFAULT_MAX_QUEUED_REPLY_BYTES,
            max_in_flight_request_bytes: Self::DEFAULT_MAX_IN_FLIGHT_REQUEST_BYTES,
            max_server_in_flight_request_bytes: Self::DEFAULT_MAX_SERVER_IN_FLIGHT_REQUEST_BYTES,
            max_partial_frame_bytes: Self::DEFAULT_MAX_PARTIAL_FRAME_BYTES,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServerOptions {
    /// Sets the frame limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Sets the read timeout.
    pub fn read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = Some(t);
        self
    }
    /// Sets the write timeout (`None` waits for ever on a peer that does not read).
    pub fn write_timeout(mut self, t: impl Into<Option<Duration>>) -> Self {
        self.write_timeout = t.into();
        self
    }
    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = Some(t);
        self
    }
    /// Sets the frame completion time limit (`None`: no limit).
    pub fn frame_timeout(mut self, t: impl Into<Option<Duration>>) -> Self {
        self.frame_timeout = t.into();
        self
    }
    /// Sets the per-connection cap on requests in flight.
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n.max(1);
        self
    }
    /// Sets the per-connection budget of queued reply bytes.
    pub fn max_queued_reply_bytes(mut self, n: usize) -> Self {
        self.max_queued_reply_bytes = n.max(1);
        self
    }
    /// Sets the per-connection budget of request bytes in flight.
    pub fn max_in_flight_request_bytes(mut self, n: usize) -> Self {
        self.max_in_flight_request_bytes = n.max(1);
        self
    }
    /// Sets the server-wide budget of request bytes in flight.
    pub fn max_server_in_flight_request_bytes(mut self, n: usize) -> Self {
        self.max_server_in_flight_request_bytes = n.max(1);
        self
    }
    /// Sets the server-wide budget of bytes held in partial frames.
    pub fn max_partial_frame_bytes(mut self, n: usize) -> Self {
        self.max_partial_frame_bytes = n.max(1);
        self
    }
    /// Sets the connection cap.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }
}
