//! [`AcceptRateLimit`]: rpcx's `ConnRateLimitingPlugin`.

use super::{Limiter, Rate};
use fastrpc_server::{Connection, ServerPlugin};

/// Refuses (closes at once) a new connection when the accept bucket is empty.
///
/// rpcx's `ConnRateLimitingPlugin`: each accepted connection takes one token; a connection
/// that finds none is closed before any byte is read. This bounds how fast connections are
/// accepted, not how many are open (that is the server's `max_connections`).
#[derive(Debug, Clone)]
pub struct AcceptRateLimit {
    limiter: Limiter,
}

impl AcceptRateLimit {
    /// At most `rate` new connections.
    pub fn new(rate: Rate) -> AcceptRateLimit {
        AcceptRateLimit {
            limiter: Limiter::new(rate),
        }
    }
}

impl ServerPlugin for AcceptRateLimit {
    fn post_conn_accept(&self, conn: &Connection) -> bool {
        let ok = self.limiter.try_acquire();
        if !ok {
            tracing::debug!(
                peer = conn.peer_addr(),
                "accept rate limit reached; connection refused"
            );
        }
        ok
    }
}
