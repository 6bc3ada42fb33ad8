//! The connection cache: one multiplexed [`Client`] per server key.
//!
//! * Created on demand, on the first call that selects the server.
//! * Concurrent dials to one server are coalesced (singleflight): the first caller dials
//!   while the others wait on the slot's dial lock, then share its result, connection or
//!   failure.
//! * A failed dial starts a backoff: until it ends, calls to that server fail at once with
//!   [`XClientError::Unreachable`] (and a fail mode moves on) instead of each paying a
//!   connect timeout.
//! * A broken connection is dropped and the next call redials.
//! * Servers that discovery removed are evicted: their connections are closed.

use crate::error::XClientError;
use crate::options::ReconnectBackoff;
use crate::plugin::Plugins;
use fastrpc_client::{Client, ClientOptions, Message};
use std::collections::HashMap;
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

#[derive(Default)]
struct Slot {
    client: Mutex<Option<Client>>,
    dial: tokio::sync::Mutex<()>,
    backoff: Mutex<Backoff>,
}

#[derive(Default)]
struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<Arc<str>>,
}

impl Slot {
    fn cached(&self) -> Option<Client> {
        let mut guard = self.client.lock().unwrap_or_else(|p| p.into_inner());
        match &*guard {
            Some(c) if !c.is_closed() => Some(c.clone()),
            Some(_) => {
                *guard = None;
                None
            }
            None => None,
        }
    }
}

pub(crate) struct Connections {
    opts: ClientOptions,
    backoff: ReconnectBackoff,
    plugins: Plugins,
    push_tx: Option<mpsc::Sender<ServerPush>>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
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
        }
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// The connection to `key`, dialing if needed.
    pub(crate) async fn get(&self, key: &str) -> Result<Client, XClientError> {
        let slot = self.slot(key);
        if let Some(c) = slot.cached() {
            return Ok(c);
        }
        let _dialing = slot.dial.lock().await;
        // Someone may have dialed, or failed to, while we waited.
        if let Some(c) = slot.cached() {
            return Ok(c);
        }
        {
            let b = slot.backoff.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = b.retry_at {
                if Instant::now() < at {
                    return Err(XClientError::Unreachable {
                        server: key.to_owned(),
                        reason: b
                            .last_error
                            .clone()
                            .unwrap_or_else(|| "connect failed".into()),
                    });
                }
            }
        }
        match Client::connect_with(key, self.opts.clone()).await {
            Ok(client) => {
                *slot.backoff.lock().unwrap_or_else(|p| p.into_inner()) = Backoff::default();
                *slot.client.lock().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
                tracing::debug!(server = %key, "connected");
                self.on_connected(key, &client);
                Ok(client)
            }
            Err(error) => {
                {
                    let mut b = slot.backoff.lock().unwrap_or_else(|p| p.into_inner());
                    b.failures += 1;
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
            // every path that forgets a connection closes it explicitly (discard, retain,
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
    pub(crate) fn discard(&self, key: &str, client: &Client) {
        client.close();
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned();
        if let Some(slot) = slot {
            // Only clears the slot if it still holds a dead connection.
            let _ = slot.cached();
        }
    }

    /// Closes and forgets every connection whose key is not in `keep`.
    pub(crate) fn retain(&self, keep: &[&str]) {
        let removed: Vec<(String, Arc<Slot>)> = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let gone: Vec<String> = slots
                .keys()
                .filter(|k| !keep.contains(&k.as_str()))
                .cloned()
                .collect();
            gone.into_iter()
                .filter_map(|k| slots.remove(&k).map(|s| (k, s)))
                .collect()
        };
        for (key, slot) in removed {
            if let Some(c) = slot.client.lock().unwrap_or_else(|p| p.into_inner()).take() {
                tracing::debug!(server = %key, "evicting connection of a removed server");
                c.close();
            }
        }
    }

    /// Closes every connection.
    pub(crate) fn close_all(&self) {
        self.retain(&[]);
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        self.close_all();
    }
}
