//! The connection cache: one multiplexed [`Client`] per server key.
//!
//! * Created on demand, on the first call that selects the server.
//! * Concurrent dials to one server are coalesced (singleflight): the first caller dials
//!   while the others wait on the slot's dial lock, then share its result, connection or
//!   failure.
//! * A failed dial starts a backoff: until it ends, calls to that server fail at once with
//!   [`XClientError::Unreachable`] (and a fail mode moves on) instead of each paying a
//!   connect timeout.
//! * **Unless every server is in backoff**: then nothing else can take the call, so a trial
//!   dial goes through at most once per `ReconnectBackoff::initial` per server, and calls
//!   succeed again within that time of a server listening, however long the outage was.
//! * A broken connection is dropped and the next call redials.
//! * Servers that discovery removed are evicted: their connections are closed.
//!
//! The call path takes no lock shared between servers: the router's snapshot hands each
//! attempt its server's [`Slot`], whose connection is an atomic pointer. The table of slots
//! is locked only when discovery changes the list, and updated with sets (linear in the list).

use crate::discovery::ServerEntry;
use crate::error::XClientError;
use crate::options::ReconnectBackoff;
use crate::plugin::Plugins;
use arc_swap::ArcSwapOption;
use fastrpc_client::{Client, ClientOptions, Message};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A server push received by a bidirectional XClient.
#[derive(Debug, Clone)]
pub struct ServerPush {
    /// The server key it came from.
    pub server: String,
    /// The pushed message (Request, oneway). When a connection ends, a message with status
    /// Error and metadata `server` is delivered, as in Go.
    pub message: Message,
}

/// One server's connection, dial lock and backoff.
#[derive(Default)]
pub(crate) struct Slot {
    client: ArcSwapOption<Client>,
    dial: tokio::sync::Mutex<()>,
    backoff: Mutex<Backoff>,
}

#[derive(Default)]
struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_dial: Option<Instant>,
    last_error: Option<Arc<str>>,
}

impl Slot {
    /// The open connection, if any (clears a closed one).
    fn cached(&self) -> Option<Arc<Client>> {
        let guard = self.client.load();
        match &*guard {
            Some(c) if !c.is_closed() => Some(c.clone()),
            Some(c) => {
                let dead = c.clone();
                drop(guard);
                // Only clears the slot if it still holds that dead connection.
                let _ = self
                    .client
                    .compare_and_swap(&Some(dead), None::<Arc<Client>>);
                None
            }
            None => None,
        }
    }

    fn lock_backoff(&self) -> std::sync::MutexGuard<'_, Backoff> {
        self.backoff.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the backoff allows the next dial: `None` when it allows one now.
    pub(crate) fn dial_ready_at(&self) -> Option<Instant> {
        self.lock_backoff()
            .retry_at
            .filter(|at| *at > Instant::now())
    }
}

pub(crate) struct Connections {
    opts: ClientOptions,
    backoff: ReconnectBackoff,
    plugins: Plugins,
    push_tx: Option<mpsc::Sender<ServerPush>>,
    /// Every slot by key; locked only on discovery updates and close.
    slots: Mutex<HashMap<Arc<str>, Arc<Slot>>>,
    /// Slots whose last dial failed (in backoff), and slots listed.
    in_backoff: AtomicUsize,
    listed: AtomicUsize,
}

impl Connections {
    pub(crate) fn new(
        opts: ClientOptions,
        backoff: ReconnectBackoff,
        plugins: Plugins,
        push_tx: Option<mpsc::Sender<ServerPush>>,
    ) -> Connections {
        Connections {
            opts,
            backoff,
            plugins,
            push_tx,
            slots: Mutex::new(HashMap::new()),
            in_backoff: AtomicUsize::new(0),
            listed: AtomicUsize::new(0),
        }
    }

    /// The slots of `servers`, in order, made where missing; every other slot is evicted and
    /// its connection closed. Linear in the number of servers.
    pub(crate) fn update(&self, servers: &[ServerEntry]) -> Vec<Arc<Slot>> {
        let keep: HashSet<&str> = servers.iter().map(|s| s.key()).collect();
        let (slots, removed) = {
            let mut table = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let gone: Vec<Arc<str>> = table
                .keys()
                .filter(|k| !keep.contains(&***k))
                .cloned()
                .collect();
            let removed: Vec<(Arc<str>, Arc<Slot>)> = gone
                .into_iter()
                .filter_map(|k| table.remove(&k).map(|s| (k, s)))
                .collect();
            let slots: Vec<Arc<Slot>> = servers
                .iter()
                .map(|s| match table.get(s.key()) {
                    Some(slot) => slot.clone(),
                    None => table.entry(Arc::from(s.key())).or_default().clone(),
                })
                .collect();
            self.listed.store(table.len(), Ordering::Release);
            (slots, removed)
        };
        for (key, slot) in removed {
            if slot.lock_backoff().retry_at.take().is_some() {
                self.leave_backoff();
            }
            if let Some(c) = slot.client.swap(None) {
                tracing::debug!(server = %key, "evicting connection of a removed server");
                c.close();
            }
        }
        slots
    }

    fn leave_backoff(&self) {
        // Saturating: a slot evicted while its dial was running may report twice.
        let _ = self
            .in_backoff
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            });
    }

    /// True when every listed server's last dial failed: nothing else can take a call.
    fn all_in_backoff(&self) -> bool {
        let listed = self.listed.load(Ordering::Acquire);
        listed > 0 && self.in_backoff.load(Ordering::Acquire) >= listed
    }

    /// The connection to `key` (whose slot is `slot`), dialing if needed.
    pub(crate) async fn get(&self, key: &str, slot: &Slot) -> Result<Arc<Client>, XClientError> {
        if let Some(c) = slot.cached() {
            return Ok(c);
        }
        let _dialing = slot.dial.lock().await;
        // Someone may have dialed, or failed to, while we waited.
        if let Some(c) = slot.cached() {
            return Ok(c);
        }
        self.check_backoff(key, slot)?;
        slot.lock_backoff().last_dial = Some(Instant::now());
        match Client::connect_with(key, self.opts.clone()).await {
            Ok(client) => {
                let client = Arc::new(client);
                let was_in_backoff = std::mem::take(&mut *slot.lock_backoff()).retry_at.is_some();
                if was_in_backoff {
                    self.leave_backoff();
                }
                slot.client.store(Some(client.clone()));
                tracing::debug!(server = %key, "connected");
                self.on_connected(key, &client);
                Ok(client)
            }
            Err(error) => {
                {
                    let mut b = slot.lock_backoff();
                    b.failures += 1;
                    if b.retry_at.is_none() {
                        self.in_backoff.fetch_add(1, Ordering::AcqRel);
                    }
                    b.retry_at = Some(Instant::now() + self.backoff.delay(b.failures));
                    b.last_error = Some(error.to_string().into());
                }
                tracing::debug!(server = %key, %error, "connect failed");
                for p in self.plugins.iter() {
                    p.conn_create_failed(key, &error);
                }
                Err(XClientError::Call {
                    server: key.to_owned(),
                    source: error,
                })
            }
        }
    }

    /// Fails with `Unreachable` while the slot's backoff forbids a dial, except for a trial
    /// dial when every server is in backoff.
    fn check_backoff(&self, key: &str, slot: &Slot) -> Result<(), XClientError> {
        let b = slot.lock_backoff();
        let Some(at) = b.retry_at else { return Ok(()) };
        let now = Instant::now();
        if now >= at {
            return Ok(());
        }
        let trial_due = b
            .last_dial
            .is_none_or(|last| now >= last + self.backoff.initial);
        if trial_due && self.all_in_backoff() {
            tracing::debug!(server = %key, "every server is in backoff: trial dial");
            return Ok(());
        }
        Err(XClientError::Unreachable {
            server: key.to_owned(),
            reason: b
                .last_error
                .clone()
                .unwrap_or_else(|| "connect failed".into()),
        })
    }

    fn on_connected(&self, key: &str, client: &Client) {
        for p in self.plugins.iter() {
            p.conn_created(key);
        }
        if let (Some(tx), Some(mut rx)) = (&self.push_tx, client.take_push_receiver()) {
            let tx = tx.clone();
            let server = key.to_owned();
            tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    let push = ServerPush {
                        server: server.clone(),
                        message,
                    };
                    if tx.send(push).await.is_err() {
                        return;
                    }
                }
            });
        }
        if !self.plugins.is_empty() {
            // The watcher holds a clone, which keeps the connection open until it is closed;
            // every path that forgets a connection closes it explicitly (discard, update,
            // close_all), so the watcher always ends.
            let plugins = self.plugins.clone();
            let client = client.clone();
            let server = key.to_owned();
            tokio::spawn(async move {
                client.closed().await;
                for p in plugins.iter() {
                    p.conn_closed(&server);
                }
            });
        }
    }

    /// Drops `client` (the connection an attempt used) after a connection-level failure.
    pub(crate) fn discard(&self, slot: &Slot, client: &Client) {
        client.close();
        // Only clears the slot if it still holds a dead connection.
        let _ = slot.cached();
    }

    /// Closes every connection.
    pub(crate) fn close_all(&self) {
        self.update(&[]);
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        self.close_all();
    }
}
