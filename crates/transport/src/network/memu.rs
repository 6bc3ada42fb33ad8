//! `memu@name`: in-process connections, for tests and for services in one binary. A listener
//! takes a name in a process-wide table; a dial makes a `tokio::io::duplex` pair and hands one
//! end to that listener. Nothing touches the OS.
//!
//! Bounded: each direction of a pair buffers at most [`MEMU_PIPE_BYTES`]; a listener holds at
//! most [`MEMU_BACKLOG`] connections not yet accepted (a dial waits for room, within its
//! timeout).

use super::registry::Entry;
use super::{BoxFuture, BoxStream, Dialed, Dialer, Listener, within};
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;

/// Bytes each direction of an in-process connection buffers.
pub const MEMU_PIPE_BYTES: usize = 256 << 10;
/// Connections a `memu` listener holds before they are accepted.
pub const MEMU_BACKLOG: usize = 128;

type Pending = (DuplexStream, u64);

fn names() -> &'static Mutex<HashMap<String, mpsc::Sender<Pending>>> {
    static NAMES: OnceLock<Mutex<HashMap<String, mpsc::Sender<Pending>>>> = OnceLock::new();
    NAMES.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, mpsc::Sender<Pending>>> {
    names().lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn entry() -> Entry {
    Entry {
        listen: Arc::new(
            |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move { Ok(Box::new(Memu::bind(addr)?) as Box<dyn Listener>) })
            },
        ),
        dialer: Arc::new(MemuDialer),
    }
}

struct Memu {
    name: String,
    rx: mpsc::Receiver<Pending>,
    tx: mpsc::Sender<Pending>,
}

impl Memu {
    fn bind(name: String) -> io::Result<Memu> {
        let mut names = lock();
        if names.get(&name).is_some_and(|tx| !tx.is_closed()) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("memu@{name} is already listening"),
            ));
        }
        let (tx, rx) = mpsc::channel(MEMU_BACKLOG);
        names.insert(name.clone(), tx.clone());
        Ok(Memu { name, rx, tx })
    }
}

impl Listener for Memu {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, String)>> {
        Box::pin(async move {
            // The listener holds a sender itself, so the channel never ends while it lives.
            let (s, n) = self.rx.recv().await.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "memu listener closed")
            })?;
            Ok((Box::new(s) as BoxStream, format!("memu@{}#{n}", self.name)))
        })
    }

    fn local_addr(&self) -> String {
        self.name.clone()
    }
}

impl Drop for Memu {
    fn drop(&mut self) {
        let mut names = lock();
        if names
            .get(&self.name)
            .is_some_and(|tx| tx.same_channel(&self.tx))
        {
            names.remove(&self.name);
        }
    }
}

struct MemuDialer;

impl Dialer for MemuDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            static NEXT: AtomicU64 = AtomicU64::new(1);
            let tx = lock().get(addr).cloned().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("nothing listens on memu@{addr}"),
                )
            })?;
            let (client, server) = tokio::io::duplex(MEMU_PIPE_BYTES);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            within(timeout, addr, async {
                tx.send((server, n)).await.map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::ConnectionRefused,
                        format!("memu@{addr} closed"),
                    )
                })
            })
            .await?;
            Ok(Dialed {
                stream: Box::new(client),
                remote: addr.to_owned(),
            })
        })
    }
}
