//! The accept loop of a listener: Go's socket settings on every accepted TCP connection, the
//! connection cap, and accept errors and refusals logged at a bounded rate. TCP listeners run
//! it with their concrete socket types (the fast path); every other network through the
//! registry's boxed [`Listener`].

use crate::conn::Registry;
use crate::log_limit::LogLimit;
use crate::shared::{Shared, State};
use crate::stats::Counters;
use fastrpc_transport::network::{BoxStream, Listener};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::TcpListener;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Something connections are accepted from.
pub(crate) trait Source: Send + 'static {
    type R: AsyncRead + Send + Unpin + 'static;
    type W: AsyncWrite + Send + Unpin + 'static;
    /// The next connection, split, and its peer's name.
    fn next(&mut self) -> impl Future<Output = io::Result<(Self::R, Self::W, String)>> + Send;
}

impl Source for TcpListener {
    type R = OwnedReadHalf;
    type W = OwnedWriteHalf;
    async fn next(&mut self) -> io::Result<(Self::R, Self::W, String)> {
        let (stream, peer) = self.accept().await?;
        if let Err(e) = fastrpc_transport::tcp::prepare_accepted(&stream) {
            tracing::debug!(%peer, error = %e, "cannot set socket options");
        }
        let (r, w) = stream.into_split();
        Ok((r, w, peer.to_string()))
    }
}

impl Source for Box<dyn Listener> {
    type R = ReadHalf<BoxStream>;
    type W = WriteHalf<BoxStream>;
    async fn next(&mut self) -> io::Result<(Self::R, Self::W, String)> {
        let (stream, peer) = self.accept().await?;
        let (r, w) = tokio::io::split(stream);
        Ok((r, w, peer))
    }
}

/// At most one log line per this interval for each kind of event.
const LOG_INTERVAL: Duration = Duration::from_secs(5);

pub(crate) async fn accept_loop<L: Source>(
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    mut listener: L,
) {
    let mut state = shared.state.subscribe();
    let refused_log = LogLimit::new(LOG_INTERVAL);
    let error_log = LogLimit::new(LOG_INTERVAL);
    let max = shared.opts.max_connections;
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            biased;
            _ = state.wait_for(|s| *s != State::Running) => return,
            r = listener.next() => r,
        };
        match accepted {
            Ok((r, w, peer)) => {
                backoff = Duration::from_millis(5);
                if !registry.try_admit(max) {
                    Counters::one(&shared.counters.refused_connections);
                    // Refused at once: the connection closes as its halves drop.
                    if let Some(left_out) = refused_log.allow() {
                        tracing::warn!(%peer, max_connections = max, left_out, "connection refused: at the connection cap");
                    }
                    continue;
                }
                tokio::spawn(crate::conn::serve(
                    shared.clone(),
                    registry.clone(),
                    r,
                    w,
                    peer,
                ));
            }
            Err(e) => {
                Counters::one(&shared.counters.accept_errors);
                // Like Go: back off on accept errors (out of fds, ...), 5 ms doubling to 1 s.
                if let Some(left_out) = error_log.allow() {
                    tracing::warn!(error = %e, ?backoff, left_out, "accept failed");
                }
                tokio::select! {
                    _ = state.wait_for(|s| *s != State::Running) => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
