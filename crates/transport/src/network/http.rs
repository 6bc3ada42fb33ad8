//! `http@host:port` (feature `http`): rpcx's CONNECT tunnelling over TCP
//! ([`crate::http_connect`]). The listener answers each connection's `CONNECT /_rpcx_` in a
//! task of its own (so a slow or silent peer holds up no one) and hands the tunnels to
//! `accept`.
//!
//! Bounded: at most [`MAX_HANDSHAKES`] handshakes run at once (further connections wait in the
//! kernel's backlog), each within [`crate::http_connect::DEFAULT_HEAD_TIMEOUT`] and
//! [`crate::http_connect::MAX_HEAD_BYTES`]; at most [`ACCEPT_BACKLOG`] finished tunnels wait for
//! `accept`.

use super::registry::Entry;
use super::{BoxFuture, BoxStream, Dialed, Dialer, Listener, within};
use crate::http_connect::{DEFAULT_HEAD_TIMEOUT, RPC_PATH, accept_connect, connect_handshake};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// CONNECT handshakes a listener runs at once.
pub const MAX_HANDSHAKES: usize = 1024;
/// Tunnels a listener holds before they are accepted.
pub const ACCEPT_BACKLOG: usize = 128;

pub(super) fn entry() -> Entry {
    Entry {
        listen: Arc::new(
            |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let tcp = crate::tcp::bind_network("tcp", &addr).await?;
                    let local = tcp.local_addr()?;
                    let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
                    let task = tokio::spawn(handshakes(tcp, tx));
                    Ok(Box::new(Http { rx, local, task }) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(HttpDialer),
    }
}

type Tunnel = (BoxStream, String);

/// Accepts TCP connections and runs their handshakes until the listener is dropped.
async fn handshakes(tcp: TcpListener, tx: mpsc::Sender<Tunnel>) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let mut backoff = Duration::from_millis(5);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = tokio::select! {
            _ = tx.closed() => return,
            r = tcp.accept() => match r {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "http@ accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
        };
        backoff = Duration::from_millis(5);
        let _ = crate::tcp::prepare_accepted(&stream);
        let tx = tx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match accept_connect(stream, DEFAULT_HEAD_TIMEOUT).await {
                Ok(tunnel) => {
                    let _ = tx
                        .send((Box::new(tunnel) as BoxStream, peer.to_string()))
                        .await;
                }
                Err(e) => tracing::debug!(%peer, error = %e, "CONNECT handshake failed"),
            }
        });
    }
}

struct Http {
    rx: mpsc::Receiver<Tunnel>,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Listener for Http {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, String)>> {
        Box::pin(async move {
            self.rx
                .recv()
                .await
                .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "http@ listener stopped"))
        })
    }

    fn local_addr(&self) -> String {
        self.local.to_string()
    }

    fn socket_addr(&self) -> Option<SocketAddr> {
        Some(self.local)
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct HttpDialer;

impl Dialer for HttpDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            let tcp = crate::tcp::connect(addr, timeout).await?;
            let remote = tcp
                .peer_addr()
                .map_or_else(|_| addr.to_owned(), |a| a.to_string());
            let s = within(timeout, addr, async {
                connect_handshake(tcp, RPC_PATH)
                    .await
                    .map_err(|e| io::Error::new(io::ErrorKind::ConnectionRefused, e))
            })
            .await?;
            Ok(Dialed {
                stream: Box::new(s),
                remote,
            })
        })
    }
}
