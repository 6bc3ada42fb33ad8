//! The reader task: matches replies to pending calls and queues server pushes, and stops
//! reading the server while either is over its byte budget.

use crate::ClientError;
use crate::budget::Charge;
use crate::conn::{Shared, frame_len};
use crate::push_queue::QueuedPush;
use fastrpc_core::{Message, MessageStatusType, keys};
use fastrpc_transport::{FrameReader, IoCounters, ReadError};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::AsyncRead;
use tokio::sync::{mpsc, watch};

/// Why the loop stopped early.
struct Closed;

pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    mut reader: FrameReader<R>,
    push_tx: mpsc::Sender<QueuedPush>,
) {
    let mut closed_rx = shared.subscribe_closed();
    let idle = shared.opts.idle_timeout;
    let reason: Arc<str> = loop {
        // Replies not yet taken by their callers are bounded: past the budget, stop reading
        // (the server then feels it through TCP) until callers take theirs.
        if shared.replies.is_over() {
            tokio::select! {
                biased;
                _ = closed_rx.wait_for(|c| *c) => break shared.closed_error().to_string().into(),
                () = shared.replies.room() => {}
            }
        }
        // Replies already buffered are taken without touching the close signal; it is watched
        // only while waiting for the socket.
        let next = match reader.try_next_buffered() {
            Ok(None) => tokio::select! {
                biased;
                _ = closed_rx.wait_for(|c| *c) => break shared.closed_error().to_string().into(),
                r = reader.next(idle) => r,
            },
            buffered => buffered,
        };
        match next {
            Ok(Some(msg)) if msg.is_server_push() => {
                if queue_push(&shared, &push_tx, &mut closed_rx, msg)
                    .await
                    .is_err()
                {
                    break shared.closed_error().to_string().into();
                }
            }
            Ok(Some(msg)) => deliver_reply(&shared, msg),
            Ok(None) => break "connection closed by server".into(),
            Err(ReadError::Protocol {
                error,
                header: Some(h),
            }) if !error.is_fatal() => {
                IoCounters::add(&shared.io.read_errors, 1);
                // The bad frame was consumed; fail only the call it answered.
                tracing::debug!(peer = %shared.peer, seq = h.seq, %error, "malformed reply");
                let waiter = shared.pending.lock().unwrap().remove(&h.seq);
                if let Some(w) = waiter {
                    let _ = w.send(Err(ClientError::Protocol(error)));
                }
            }
            Err(ReadError::Timeout) => break "idle timeout".into(),
            Err(e) => {
                if matches!(e, ReadError::Protocol { .. }) {
                    IoCounters::add(&shared.io.read_errors, 1);
                }
                break e.to_string().into();
            }
        }
    };
    shared.shutdown(reason.clone());
    // Like Go, tell the push receiver that the connection is gone.
    let mut gone = Message::request("", "");
    gone.header.set_status(MessageStatusType::Error);
    gone.metadata.insert("server", shared.peer.clone());
    gone.metadata
        .insert(keys::SERVICE_ERROR, reason.to_string());
    let _ = push_tx.try_send((gone, Charge::default()));
}

fn message_len(msg: &Message) -> usize {
    frame_len(msg, msg.payload.len())
}

/// Hands a reply to its call, charged to the reply budget until the caller takes it.
fn deliver_reply(shared: &Shared, msg: Message) {
    let waiter = shared.pending.lock().unwrap().remove(&msg.header.seq);
    match waiter {
        Some(w) => {
            let held = shared.replies.charge_anyway(message_len(&msg));
            // A caller that is gone drops the reply, and its charge with it.
            let _ = w.send(Ok((msg, held)));
        }
        None => tracing::trace!(seq = msg.header.seq, "reply for no pending call"),
    }
}

/// Queues a server push within the push budget: over it, a push is dropped, or with
/// `push_blocking` the reader waits for the application (Go's `BidirectionalBlock`).
async fn queue_push(
    shared: &Shared,
    push_tx: &mpsc::Sender<QueuedPush>,
    closed_rx: &mut watch::Receiver<bool>,
    msg: Message,
) -> Result<(), Closed> {
    let len = message_len(&msg);
    if shared.opts.push_blocking {
        let held = tokio::select! {
            biased;
            _ = closed_rx.wait_for(|c| *c) => return Err(Closed),
            c = shared.pushes.charge(len) => c,
        };
        tokio::select! {
            biased;
            _ = closed_rx.wait_for(|c| *c) => return Err(Closed),
            // A receiver that is gone takes nothing; the push is dropped.
            _ = push_tx.send((msg, held)) => {}
        }
        return Ok(());
    }
    let queued = match shared.pushes.try_charge(len) {
        Some(held) => push_tx.try_send((msg, held)).is_ok(),
        None => false,
    };
    if !queued {
        shared.pushes_dropped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(peer = %shared.peer, "server push dropped: receiver full or gone");
    }
    Ok(())
}
