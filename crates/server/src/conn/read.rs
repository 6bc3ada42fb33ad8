//! The read loop of one connection: frames in, replies gathered into batches, and no reading
//! while a byte budget is reached.

use super::dispatch::handle_message;
use super::handle::Connection;
use super::reply::Batch;
use crate::shared::State;
use crate::stats::Counters;
use fastrpc_core::{Header, Message, MessageType, ProtocolError};
use fastrpc_transport::{FrameReader, ReadError};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::AsyncRead;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

/// What the wait for the next frame produced.
enum Next {
    Frame(Result<Option<Message>, ReadError>),
    /// Stop reading this connection.
    Stop,
}

/// Reads and dispatches frames until the peer is done, the connection fails, or the server
/// stops reading.
pub(super) async fn read_loop<R: AsyncRead + Unpin>(
    conn: &Connection,
    reader: &mut FrameReader<R>,
    permits: &Arc<Semaphore>,
) {
    let shared = conn.shared();
    let opts = &shared.opts;
    let mut state = shared.state.subscribe();
    let mut batch = Batch::default();
    // Go's read timeout: a deadline for each next message, re-armed after every message.
    let mut msg_deadline = opts.read_timeout.map(|t| Instant::now() + t);
    loop {
        if conn.over_budget(batch.len()) {
            // Stop reading this peer until what it holds is written (or freed server-wide).
            batch.flush(conn);
            tokio::select! {
                biased;
                _ = state.wait_for(|s| *s >= State::Closing) => break,
                _ = conn.inner.queue.closed() => break,
                // Boxed: pauses are rare, and the wait would make every connection larger.
                _ = Box::pin(conn.budget_room()) => {}
            }
            // The pause was the server's doing: the peer's clocks start again.
            reader.restart_frame_clock();
            msg_deadline = opts.read_timeout.map(|t| Instant::now() + t);
            continue;
        }
        // Frames already buffered are handled without waiting; replies that are ready at once
        // gather in `batch`, which goes to the writer as one piece before the next wait.
        let next = match reader.try_next_buffered() {
            Ok(None) => {
                batch.flush(conn);
                batch.release_idle();
                match wait_for_frame(conn, reader, &mut state, msg_deadline).await {
                    Next::Frame(r) => r,
                    Next::Stop => break,
                }
            }
            buffered => buffered,
        };
        msg_deadline = opts.read_timeout.map(|t| Instant::now() + t);
        let msg = match next {
            Ok(Some(msg)) => msg,
            Ok(None) => break,
            Err(ReadError::Protocol { error, header }) => {
                Counters::one(&shared.counters.io.read_errors);
                if answer_bad_frame(conn, error, header, &mut batch) {
                    continue;
                }
                break;
            }
            Err(ReadError::Timeout) => {
                Counters::one(&shared.counters.io.read_errors);
                tracing::debug!(peer = %conn.peer_addr(), "frame not complete within the frame time limit");
                break;
            }
            Err(e) => {
                tracing::debug!(peer = %conn.peer_addr(), error = %e, "connection read ended");
                break;
            }
        };
        if !handle_message(conn, permits, msg, &mut batch).await {
            break;
        }
    }
    batch.flush(conn);
}

/// Answers a frame that could not be decoded; returns false when the connection must close
/// (a fatal error, a frame without a header, or a plugin's verdict).
fn answer_bad_frame(
    conn: &Connection,
    error: ProtocolError,
    header: Option<Header>,
    batch: &mut Batch,
) -> bool {
    tracing::debug!(peer = %conn.peer_addr(), %error, "bad frame");
    let verdict = conn
        .shared()
        .plugins
        .iter()
        .try_for_each(|p| p.post_read_request(conn, Err(&error)));
    match header {
        // The frame was consumed: answer it with the error and keep serving.
        Some(h) if !error.is_fatal() && verdict.is_ok() => {
            if !h.is_oneway() && h.message_type() == MessageType::Request {
                let req = Message {
                    header: h,
                    ..Message::default()
                };
                batch.push(conn, &Message::error_reply(&req, error.to_string()));
            }
            true
        }
        _ => false,
    }
}

/// Waits for the next frame, the read or idle timeout, or the server to stop reading.
async fn wait_for_frame<R: AsyncRead + Unpin>(
    conn: &Connection,
    reader: &mut FrameReader<R>,
    state: &mut watch::Receiver<State>,
    msg_deadline: Option<Instant>,
) -> Next {
    let opts = &conn.shared().opts;
    loop {
        let idle_deadline = opts.idle_timeout.map(|t| Instant::now() + t);
        let deadline = match (msg_deadline, idle_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            biased;
            _ = state.wait_for(|s| *s >= State::Closing) => return Next::Stop,
            // The writer stopped (write error or timeout): nothing more can be answered.
            _ = conn.inner.queue.closed() => {
                tracing::debug!(peer = %conn.peer_addr(), "writer stopped; closing connection");
                return Next::Stop;
            }
            r = reader.next(None) => return Next::Frame(r),
            _ = sleep_until_opt(deadline) => {
                if msg_deadline.is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(peer = %conn.peer_addr(), "read timeout");
                    return Next::Stop;
                }
                let busy = conn.inner.in_flight.load(Ordering::Acquire) > 0
                    || reader.has_partial_frame();
                if !busy {
                    tracing::debug!(peer = %conn.peer_addr(), "idle timeout");
                    return Next::Stop;
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or for ever. The timer is boxed: it exists only with a read or
/// idle timeout (off by default), and would otherwise make every connection's task larger.
async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => Box::pin(tokio::time::sleep_until(d)).await,
        None => std::future::pending().await,
    }
}
