//! The heartbeat task (Go's `Heartbeat`, `HeartbeatInterval`, `MaxWaitForHeartbeat`).

use crate::conn::Shared;
use fastrpc_core::Message;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

pub(crate) async fn heartbeat_loop(shared: Weak<Shared>, interval: Duration, max_wait: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.is_closed() {
            return;
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        if let Err(e) = shared
            .roundtrip(Message::heartbeat(0, nanos), Some(max_wait))
            .await
        {
            tracing::warn!(peer = %shared.peer, error = %e, "heartbeat failed; closing connection");
            shared.shutdown(format!("heartbeat failed: {e}").into());
            return;
        }
    }
}
