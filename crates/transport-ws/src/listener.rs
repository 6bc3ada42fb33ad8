//! [`WsListener`]: accepts TCP (optionally TLS) connections and upgrades them at `/_rpcx_`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::config::WsConfig;
use crate::error::WsError;
use crate::frame::Role;
use crate::handshake;
use crate::io::BoxIo;
use crate::stats::{Counters, WsStats};
use crate::stream::WsStream;

/// One of a listener's [`WsConfig::max_connections`] slots, held from accept to close.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    counters: Arc<Counters>,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, counters: Arc<Counters>) -> Slot {
        counters.connections_active.fetch_add(1, Ordering::Relaxed);
        Slot {
            _permit: permit,
            counters,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counters
            .connections_active
            .fetch_sub(1, Ordering::Relaxed);
    }
}

struct Shared {
    cfg: WsConfig,
    tls: Option<TlsAcceptor>,
    slots: Arc<Semaphore>,
    counters: Arc<Counters>,
    accept_tx: mpsc::Sender<(WsStream, SocketAddr)>,
}

/// Serves WebSocket at [`WsConfig::path`] (`/_rpcx_`), as Go rpcx's `ws` and `wss` networks.
///
/// Upgrades run in the background, each within [`WsConfig::handshake_timeout`]; one that
/// fails (TLS error, wrong path: 404, not a WebSocket request: 400) is answered, counted in
/// [`WsListener::stats`], logged at debug level only, and touches no other connection.
pub struct WsListener {
    accept_rx: mpsc::Receiver<(WsStream, SocketAddr)>,
    counters: Arc<Counters>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for WsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsListener")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl WsListener {
    /// `ws`: binds a TCP listener.
    pub async fn bind(addr: impl ToSocketAddrs, cfg: WsConfig) -> Result<WsListener, WsError> {
        WsListener::start(addr, None, cfg).await
    }

    /// `wss`: binds a TCP listener that runs TLS with `tls` before the upgrade.
    pub async fn bind_tls(
        addr: impl ToSocketAddrs,
        tls: Arc<ServerConfig>,
        cfg: WsConfig,
    ) -> Result<WsListener, WsError> {
        WsListener::start(addr, Some(TlsAcceptor::from(tls)), cfg).await
    }

    async fn start(
        addr: impl ToSocketAddrs,
        tls: Option<TlsAcceptor>,
        cfg: WsConfig,
    ) -> Result<WsListener, WsError> {
        let tcp = TcpListener::bind(addr).await?;
        let local_addr = tcp.local_addr()?;
        let (accept_tx, accept_rx) = mpsc::channel(cfg.accept_backlog.max(1));
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            slots: Arc::new(Semaphore::new(cfg.max_connections)),
            cfg,
            tls,
            counters: counters.clone(),
            accept_tx,
        });
        let task = tokio::spawn(accept_loop(tcp, shared));
        Ok(WsListener {
            accept_rx,
            counters,
            local_addr,
            task,
        })
    }

    /// Waits for the next upgraded connection.
    pub async fn accept(&mut self) -> std::io::Result<(WsStream, SocketAddr)> {
        self.accept_rx
            .recv()
            .await
            .ok_or_else(|| std::io::ErrorKind::BrokenPipe.into())
    }

    /// The bound TCP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The listener's counters.
    pub fn stats(&self) -> WsStats {
        self.counters.snapshot()
    }
}

impl Drop for WsListener {
    /// Stops accepting; streams already handed out keep working.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The answer to a connection beyond [`WsConfig::max_connections`].
const FULL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

async fn accept_loop(tcp: TcpListener, shared: Arc<Shared>) {
    loop {
        let (sock, peer) = match tcp.accept().await {
            Ok(c) => c,
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        match shared.slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let slot = Slot::new(permit, shared.counters.clone());
                tokio::spawn(establish(sock, peer, slot, shared.clone()));
            }
            Err(_) => {
                Counters::bump(&shared.counters.refused);
                // One non-blocking write, no task: the peer learns why, if its socket has room.
                let _ = sock.try_write(FULL);
            }
        }
    }
}

async fn upgrade(sock: TcpStream, shared: &Shared, slot: Slot) -> Result<WsStream, WsError> {
    sock.set_nodelay(true)?;
    let mut io: BoxIo = match &shared.tls {
        Some(acceptor) => Box::new(acceptor.accept(sock).await?),
        None => Box::new(sock),
    };
    let cfg = &shared.cfg;
    let rest = handshake::accept(&mut io, &cfg.path, cfg.max_head_bytes).await?;
    Ok(WsStream::new(io, Role::Server, rest, cfg, Some(slot)))
}

async fn establish(sock: TcpStream, peer: SocketAddr, slot: Slot, shared: Arc<Shared>) {
    let counters = &shared.counters;
    let result =
        tokio::time::timeout(shared.cfg.handshake_timeout, upgrade(sock, &shared, slot)).await;
    let stream = match result {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            Counters::bump(&counters.handshakes_failed);
            tracing::debug!(%peer, error = %e, "websocket upgrade failed");
            return;
        }
        Err(_) => {
            Counters::bump(&counters.handshakes_failed);
            tracing::debug!(%peer, "websocket upgrade timed out");
            return;
        }
    };
    match shared.accept_tx.try_send((stream, peer)) {
        Ok(()) => Counters::bump(&counters.accepted),
        Err(_) => Counters::bump(&counters.refused),
    }
}
