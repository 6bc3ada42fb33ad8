//! The reply path: replies gathered into one batch per wake-up, and the in-flight guard each
//! request carries until its reply has been handed to the writer.

use super::handle::Connection;
use crate::Context;
use bytes::BytesMut;
use fastrpc_core::Message;
use std::sync::atomic::Ordering;
use tokio::sync::OwnedSemaphorePermit;

/// Replies waiting to be handed to the writer as one frame batch, with the in-flight guards
/// of their requests (released only after the hand-over, so a graceful shutdown waits for
/// them) and the bytes of those requests (released only once the batch is written).
#[derive(Default)]
pub(super) struct Batch {
    buf: BytesMut,
    guards: Vec<InFlight>,
    request_bytes: usize,
    /// Size of the last batch handed over: the next one starts with that much room, so a
    /// busy connection allocates each batch once instead of growing it reply by reply.
    last_len: usize,
}

/// The most room a batch starts with.
const MAX_START: usize = 256 * 1024;

impl Batch {
    /// Reply bytes gathered and not yet handed over.
    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn push(&mut self, conn: &Connection, msg: &Message) {
        if self.buf.capacity() == 0 && self.last_len > 0 {
            self.buf.reserve(self.last_len.min(MAX_START));
        }
        conn.encode_into(msg, &mut self.buf);
    }

    /// Gives back what is left of the buffer: called before the reader waits for the peer.
    /// After a hand-over the buffer shares the allocation of the frames already handed over
    /// and keeps it alive, even with no room left (a `BytesMut` of capacity 0 still holds its
    /// share), so it is replaced whenever it is empty; an empty `BytesMut` allocates nothing.
    pub(super) fn release_idle(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }

    /// Adds the reply of a finished request.
    pub(super) fn finish(&mut self, conn: &Connection, mut done: Done) {
        if let Some((ctx, reply)) = done.reply {
            self.push(conn, &reply);
            self.request_bytes += std::mem::take(&mut done.in_flight.bytes);
            let plugins = &conn.shared().plugins;
            plugins
                .iter()
                .for_each(|p| p.post_write_response(&ctx, &reply));
        }
        self.guards.push(done.in_flight);
    }

    /// Hands the gathered replies to the writer as one frame.
    pub(super) fn flush(&mut self, conn: &Connection) {
        let request_bytes = std::mem::take(&mut self.request_bytes);
        if !self.buf.is_empty() {
            self.last_len = self.buf.len();
            conn.send_accounted(self.buf.split().freeze(), request_bytes);
        } else {
            conn.release_request(request_bytes);
        }
        self.guards.clear();
    }
}

/// Counts a request in flight, on its connection and server-wide, however it ends; holds its
/// concurrency permit and, until they move into a reply batch, its bytes.
pub(super) struct InFlight {
    pub(super) conn: Connection,
    pub(super) permit: Option<OwnedSemaphorePermit>,
    pub(super) bytes: usize,
}

impl InFlight {
    pub(super) fn enter(conn: &Connection, bytes: usize) -> InFlight {
        conn.shared().in_flight.fetch_add(1, Ordering::SeqCst);
        conn.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        conn.hold_request(bytes);
        InFlight {
            conn: conn.clone(),
            permit: None,
            bytes,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.release_request(self.bytes);
        let inner = &self.conn.inner;
        if inner.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            inner.idle.notify_waiters();
        }
        let shared = &inner.shared;
        if shared.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            shared.drained.notify_waiters();
        }
    }
}

/// What running a request produced: the reply (none for oneway) and the in-flight guard,
/// which is released only once the reply has been handed to the writer.
pub(super) struct Done {
    pub(super) in_flight: InFlight,
    pub(super) reply: Option<(Context, Message)>,
}
