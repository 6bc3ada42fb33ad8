//! The open connections of a server: for server push (`Server::connections`), for the
//! connection cap, and for shutdown to wait until every connection has flushed and closed.

use super::handle::Connection;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

#[derive(Default)]
pub(crate) struct Registry {
    conns: Mutex<HashMap<u64, Connection>>,
    /// Connections admitted and not yet finished (counted before their task starts).
    open: AtomicUsize,
    all_closed: Notify,
}

impl Registry {
    /// Admits one more connection if fewer than `max` are open.
    pub(crate) fn try_admit(&self, max: usize) -> bool {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Admits one more connection whatever the cap (a caller-driven `serve_connection`).
    pub(crate) fn admit(&self) {
        self.open.fetch_add(1, Ordering::AcqRel);
    }

    /// A connection admitted earlier has finished.
    pub(crate) fn finished(&self) {
        if self.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.all_closed.notify_waiters();
        }
    }

    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub(super) fn insert(&self, conn: &Connection) {
        self.conns.lock().unwrap().insert(conn.id(), conn.clone());
    }

    pub(super) fn remove(&self, conn: &Connection) {
        self.conns.lock().unwrap().remove(&conn.id());
    }

    pub(crate) fn list(&self) -> Vec<Connection> {
        self.conns.lock().unwrap().values().cloned().collect()
    }

    /// Waits until every admitted connection has finished.
    pub(crate) async fn all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}
