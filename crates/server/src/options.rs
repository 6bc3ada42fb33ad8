//! Server options.

use fastrpc_core::Limits;
use std::time::Duration;

/// Settings of a [`Server`](crate::Server). Every limit has a safe default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Bounds on received frames (frame length, decompressed length).
    pub limits: Limits,
    /// Time allowed for each next message to arrive (Go's `WithReadTimeout`: a deadline set
    /// before every message read). Default none.
    pub read_timeout: Option<Duration>,
    /// Bound on each socket write (Go's `WithWriteTimeout`). Default none.
    pub write_timeout: Option<Duration>,
    /// Close a connection that sent nothing for this long while none of its requests were in
    /// flight. Default none.
    pub idle_timeout: Option<Duration>,
    /// Requests of one connection that may run at once; when reached, the server stops
    /// reading that connection until one finishes (backpressure). Default 1024.
    pub max_concurrent_requests: usize,
    /// Encoded replies that may wait for the connection's writer. Default 4096.
    pub write_queue: usize,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            limits: Limits::default(),
            read_timeout: None,
            write_timeout: None,
            idle_timeout: None,
            max_concurrent_requests: 1024,
            write_queue: 4096,
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
    /// Sets the write timeout.
    pub fn write_timeout(mut self, t: Duration) -> Self {
        self.write_timeout = Some(t);
        self
    }
    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = Some(t);
        self
    }
    /// Sets the per-connection cap on requests in flight.
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n.max(1);
        self
    }
}
