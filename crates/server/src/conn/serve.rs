//! Setting a connection up and tearing it down: its writer task, its place in the registry,
//! and the order of things when it ends (replies of requests already read are still written;
//! the writer flushes before the socket closes; a hard stop abandons the writer).

use super::handle::{ConnInner, Connection};
use super::read::read_loop;
use super::registry::Registry;
use crate::shared::{Shared, State};
use crate::stats::Counters;
use fastrpc_transport::{ByteBudget, Counted, FrameReader, WriteQueue, WriterOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, Semaphore};

/// Serves one connection, admitted in `registry` by the caller, until it ends.
pub(crate) async fn serve<R, W>(
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    r: R,
    w: W,
    peer: String,
) where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let _admitted = Admitted(&registry);
    let io = &shared.counters.io;
    let (r, w) = (Counted::new(r, io.clone()), Counted::new(w, io.clone()));
    let opts = &shared.opts;
    let wopts = WriterOptions {
        write_timeout: opts.write_timeout,
        ..WriterOptions::default()
    };
    // The writer task starts with the first reply: a silent connection has none.
    let queue = WriteQueue::new(w, wopts);
    let conn = Connection {
        inner: Arc::new(ConnInner {
            id: shared.next_conn_id.fetch_add(1, Ordering::Relaxed),
            peer,
            queue,
            shared: shared.clone(),
            closed: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            queued: ByteBudget::new(opts.max_queued_reply_bytes),
            requests: ByteBudget::new(opts.max_in_flight_request_bytes),
        }),
    };
    if !shared.plugins.iter().all(|p| p.post_conn_accept(&conn)) {
        Counters::one(&shared.counters.refused_connections);
        return;
    }
    Counters::one(&shared.counters.accepted_connections);
    registry.insert(&conn);
    tracing::debug!(peer = %conn.peer_addr(), id = conn.id(), "connection accepted");

    let mut reader = FrameReader::with_budget(r, opts.limits, shared.budgets.partial.clone());
    reader.set_frame_timeout(opts.frame_timeout);
    let permits = Arc::new(Semaphore::new(opts.max_concurrent_requests.max(1)));
    read_loop(&conn, &mut reader, &permits).await;
    drop(reader);

    // Requests already read still get their replies (a bad frame or EOF after a good one
    // loses nothing), unless a hard stop ends everything.
    let mut state = shared.state.subscribe();
    loop {
        let idle = conn.inner.idle.notified();
        if conn.inner.in_flight.load(Ordering::Acquire) == 0 {
            break;
        }
        tokio::select! {
            _ = idle => {}
            _ = state.wait_for(|s| *s == State::Stopped) => break,
        }
    }
    // The writer writes what is queued, whole, then shuts the socket down.
    conn.close();
    tokio::select! {
        _ = conn.inner.queue.closed() => {}
        _ = state.wait_for(|s| *s == State::Stopped) => {
            conn.inner.queue.abort();
            tracing::debug!(peer = %conn.peer_addr(), "shutdown deadline passed; writer abandoned");
        }
    }
    registry.remove(&conn);
    shared.plugins.iter().for_each(|p| p.post_conn_close(&conn));
    tracing::debug!(peer = %conn.peer_addr(), id = conn.id(), "connection closed");
}

/// Tells the registry the connection finished, however `serve` ends.
struct Admitted<'a>(&'a Registry);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.finished();
    }
}
