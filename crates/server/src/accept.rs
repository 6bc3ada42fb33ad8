//! The accept loop of a TCP listener: Go's socket settings on every accepted connection, the
//! connection cap, and accept errors and refusals logged at a bounded rate.

use crate::conn::Registry;
use crate::log_limit::LogLimit;
use crate::shared::{Shared, State};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// At most one log line per this interval for each kind of event.
const LOG_INTERVAL: Duration = Duration::from_secs(5);

pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    listener: TcpListener,
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
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(5);
                if !registry.try_admit(max) {
                    // Refused at once: the socket closes as `stream` drops.
                    if let Some(left_out) = refused_log.allow() {
                        tracing::warn!(%peer, max_connections = max, left_out, "connection refused: at the connection cap");
                    }
                    continue;
                }
                if let Err(e) = fastrpc_transport::tcp::prepare_accepted(&stream) {
                    tracing::debug!(%peer, error = %e, "cannot set socket options");
                }
                let (r, w) = stream.into_split();
                tokio::spawn(crate::conn::serve(
                    shared.clone(),
                    registry.clone(),
                    r,
                    w,
                    peer.to_string(),
                ));
            }
            Err(e) => {
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
