//! A connection's byte budgets: reply bytes queued for its writer and request bytes in flight,
//! each counted per connection and server-wide, and given back when frames are written.

use super::handle::{ConnInner, Connection};
use fastrpc_core::Message;
use fastrpc_transport::WriteAccount;

impl WriteAccount for ConnInner {
    fn release(&self, queued: usize, requests: usize) {
        // Server-wide first: the per-connection release wakes this connection's reader, which
        // may hold again at once; this order keeps each server-wide count at or below the sum
        // of the connections' counts at every instant (they are held in the opposite order).
        let server = &self.shared.budgets;
        server.queued.release(queued);
        server.requests.release(requests);
        self.queued.release(queued);
        self.requests.release(requests);
    }
}

/// The bytes a request holds while in flight: its frame as decoded (with its payload
/// decompressed, when it was compressed).
pub(super) fn request_bytes(msg: &Message) -> usize {
    // Header, totalLen and the four u32 length fields.
    12 + 4
        + 16
        + msg.service_path.len()
        + msg.service_method.len()
        + msg.metadata.encoded_len()
        + msg.payload.len()
}

impl Connection {
    /// Counts a request read from this connection as in flight.
    pub(super) fn hold_request(&self, bytes: usize) {
        self.inner.requests.force_acquire(bytes);
        self.inner.shared.budgets.requests.force_acquire(bytes);
    }

    /// Gives back the bytes of requests that end without a reply to write.
    pub(super) fn release_request(&self, bytes: usize) {
        if bytes > 0 {
            WriteAccount::release(&*self.inner, 0, bytes);
        }
    }

    /// True while the connection must not be read: its queued replies (with `pending` bytes
    /// of replies not yet handed over) or its requests in flight reach their budget, or the
    /// server's requests in flight reach theirs.
    pub(super) fn over_budget(&self, pending: usize) -> bool {
        let i = &self.inner;
        i.queued.used() + pending >= i.queued.limit()
            || i.requests.is_full()
            || i.shared.budgets.requests.is_full()
    }

    /// Waits until [`Connection::over_budget`] is false (for `pending` = 0).
    pub(super) async fn budget_room(&self) {
        let i = &self.inner;
        while self.over_budget(0) {
            tokio::select! {
                _ = i.queued.wait_for_room(), if i.queued.is_full() => {}
                _ = i.requests.wait_for_room(), if i.requests.is_full() => {}
                _ = i.shared.budgets.requests.wait_for_room(), if i.shared.budgets.requests.is_full() => {}
                else => {}
            }
        }
    }
}
