//! Lossless graceful shutdown.
//!
//! 1. Stop accepting; requests read from now on get `rpcx: server is shutting down`; plugins
//!    unregister every service, and their `unregistered` futures (a registry deleting its
//!    entries) are awaited.
//! 2. Wait until every request in flight has its reply handed to its connection's writer.
//! 3. Stop reading; every connection hands its last replies to its writer, which writes them
//!    whole and then closes the socket (so a connection closes only between whole frames).
//! 4. Return when every connection has closed, or when the deadline passes; past the deadline,
//!    writers still writing are abandoned.

use crate::conn::Registry;
use crate::shared::{Shared, State};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// How a graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Every call in flight finished before the deadline.
    pub drained: bool,
    /// Every connection's writer wrote all it had and closed before the deadline.
    pub flushed: bool,
}

impl ShutdownReport {
    /// True when nothing was cut short: drained and flushed before the deadline.
    pub fn is_complete(&self) -> bool {
        self.drained && self.flushed
    }
}

pub(crate) async fn shutdown(
    shared: &Shared,
    registry: &Registry,
    grace: Duration,
) -> ShutdownReport {
    let deadline = Instant::now() + grace;
    if *shared.state.borrow() == State::Running {
        shared.state.send_replace(State::Draining);
        // Pairs with the fence in the reader: see `InFlight::enter`.
        std::sync::atomic::fence(Ordering::SeqCst);
        for (name, _) in &shared.service_meta {
            for p in &shared.plugins {
                if let Err(e) = p.unregister(name) {
                    tracing::warn!(service = %name, error = %e, "plugin failed to unregister");
                }
            }
        }
        // Registries delete their entries before the drain, so clients stop choosing this
        // server while it still answers.
        let unregistered = shared.plugins.iter().map(|p| p.unregistered());
        let all = futures_util::future::join_all(unregistered);
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            tracing::warn!("plugins did not finish unregistering before the shutdown deadline");
        }
    }
    let drained = loop {
        let notified = shared.drained.notified();
        if shared.in_flight.load(Ordering::Acquire) == 0 {
            break true;
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {
                break shared.in_flight.load(Ordering::Acquire) == 0;
            }
        }
    };
    let flushed = if drained {
        shared.state.send_if_modified(|s| {
            let earlier = *s < State::Closing;
            if earlier {
                *s = State::Closing;
            }
            earlier
        });
        tokio::time::timeout_at(deadline, registry.all_closed())
            .await
            .is_ok()
    } else {
        false
    };
    shared.state.send_replace(State::Stopped);
    ShutdownReport { drained, flushed }
}
