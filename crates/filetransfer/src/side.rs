//! The side TCP listener shared by file transfer and streams: accept, read the 32-byte token,
//! look it up once, and hand the connection to what the token was issued for.

use crate::limits::SideLimits;
use crate::stats::Counters;
use crate::token::{IssueError, Refusal, TOKEN_LEN, Token, TokenTable};
use fastrpc_server::BoxFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// What a side listener knows: its tokens, counters, limits and the address it advertises.
pub(crate) struct Side<T> {
    pub(crate) tokens: TokenTable<T>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) limits: SideLimits,
    pub(crate) advertise: String,
    pub(crate) local_addr: SocketAddr,
}

impl<T> Side<T> {
    /// Issues a token for `ticket`, counting it (or the refusal).
    pub(crate) fn issue(&self, ticket: T) -> Result<Token, IssueError> {
        let r = self.tokens.issue(ticket);
        match &r {
            Ok(_) => Counters::bump(&self.counters.tokens_issued),
            Err(IssueError::Full) => Counters::bump(&self.counters.tokens_refused_full),
            Err(IssueError::Random(_)) => {}
        }
        r
    }
}

/// What to do with a connection whose token was good.
pub(crate) type Dispatch<T> = Arc<dyn Fn(T, TcpStream) -> BoxFuture<()> + Send + Sync>;

/// Binds the side listener.
pub(crate) async fn bind<T>(
    addr: &str,
    advertise: Option<String>,
    limits: SideLimits,
) -> io::Result<(TcpListener, Arc<Side<T>>)> {
    let listener = TcpListener::bind(listen_addr(addr).as_ref()).await?;
    let local_addr = listener.local_addr()?;
    let side = Side {
        tokens: TokenTable::new(limits.max_tokens, limits.token_lifetime),
        counters: Arc::default(),
        advertise: advertise.unwrap_or_else(|| local_addr.to_string()),
        local_addr,
        limits,
    };
    Ok((listener, Arc::new(side)))
}

/// Go's `net.Listen("tcp", ":8973")` means every interface; Rust's bind wants a host.
fn listen_addr(addr: &str) -> std::borrow::Cow<'_, str> {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}").into(),
        None => addr.into(),
    }
}

/// Accepts side connections until the returned task is aborted.
pub(crate) fn spawn_accept_loop<T: Send + 'static>(
    listener: TcpListener,
    side: Arc<Side<T>>,
    dispatch: Dispatch<T>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(side.limits.max_connections));
        let mut backoff = Duration::ZERO;
        loop {
            let (conn, peer) = match listener.accept().await {
                Ok(c) => {
                    backoff = Duration::ZERO;
                    c
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off as Go does (5 ms to 1 s).
                    backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                    tracing::debug!(error = %e, ?backoff, "side listener: accept failed");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                Counters::bump(&side.counters.connections_refused);
                tracing::debug!(%peer, "side listener: too many connections, closing");
                continue;
            };
            let side = side.clone();
            let dispatch = dispatch.clone();
            tokio::spawn(async move {
                serve_one(conn, peer, &side, &dispatch).await;
                drop(slot);
            });
        }
    })
}

/// Reads the token of one connection and dispatches it, or closes it.
async fn serve_one<T>(
    mut conn: TcpStream,
    peer: SocketAddr,
    side: &Side<T>,
    dispatch: &Dispatch<T>,
) {
    let mut token = [0u8; TOKEN_LEN];
    let read = tokio::time::timeout(side.limits.token_timeout, conn.read_exact(&mut token)).await;
    match read {
        Err(_) => {
            Counters::bump(&side.counters.timed_out);
            tracing::debug!(%peer, "side listener: no token in time, closing");
            return;
        }
        Ok(Err(e)) => {
            Counters::bump(&side.counters.tokens_rejected);
            tracing::debug!(%peer, error = %e, "side listener: failed to read the token, closing");
            return;
        }
        Ok(Ok(_)) => {}
    }
    match side.tokens.take(&token) {
        Ok(ticket) => dispatch(ticket, conn).await,
        Err(refusal) => {
            Counters::bump(&side.counters.tokens_rejected);
            let reason = match refusal {
                Refusal::Unknown => "unknown or already used",
                Refusal::Expired => "expired",
            };
            tracing::debug!(%peer, reason, "side listener: token refused, closing");
        }
    }
}

/// Aborts the accept loop when the last owner drops it.
pub(crate) struct AcceptTask(pub(crate) JoinHandle<()>);

impl Drop for AcceptTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_go_style_port_only_address_means_every_interface() {
        assert_eq!(listen_addr(":8973"), "0.0.0.0:8973");
        assert_eq!(listen_addr("127.0.0.1:8973"), "127.0.0.1:8973");
        assert_eq!(listen_addr("[::1]:8973"), "[::1]:8973");
    }
}
