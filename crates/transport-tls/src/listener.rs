//! [`TlsListener`]: accepts TCP connections and runs their TLS handshakes in the background,
//! so a slow or hostile peer never holds up the accept loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::ServerTls;
use crate::error::TlsError;
use crate::stats::{Counters, TlsStats};

/// The bounds of a [`TlsListener`].
///
/// A handshake holds at most rustls's handshake buffers (a handshake message is at most
/// 64 KiB), so `max_handshakes` bounds the bytes peers can make the listener hold before they
/// are authenticated: about `max_handshakes * 80 KiB` (20 MiB with the defaults).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct TlsLimits {
    /// How long a peer has to finish its handshake (default 10 s, Go's
    /// `http.Server` TLS handshake timeout).
    pub handshake_timeout: Duration,
    /// Handshakes run at the same time (default 256). At the limit the listener stops
    /// accepting until one ends; the kernel's backlog holds the peers that wait.
    pub max_handshakes: usize,
    /// Established connections waiting for `accept` (default 128).
    pub accept_backlog: usize,
}

impl Default for TlsLimits {
    fn default() -> Self {
        TlsLimits {
            handshake_timeout: Duration::from_secs(10),
            max_handshakes: 256,
            accept_backlog: 128,
        }
    }
}

impl TlsLimits {
    /// Sets [`TlsLimits::handshake_timeout`].
    pub fn handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// Sets [`TlsLimits::max_handshakes`] (at least 1).
    pub fn max_handshakes(mut self, n: usize) -> Self {
        self.max_handshakes = n.max(1);
        self
    }
}

/// Prepares each accepted TCP connection before its handshake (socket options).
pub type Prepare = Arc<dyn Fn(&TcpStream) -> std::io::Result<()> + Send + Sync>;

struct Shared {
    acceptor: TlsAcceptor,
    limits: TlsLimits,
    counters: Arc<Counters>,
    prepare: Prepare,
    accept_tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
}

/// Serves TLS on TCP, as Go rpcx's `tcp` network does with a `TLSConfig`.
///
/// Handshakes run in the background, each within [`TlsLimits::handshake_timeout`], at most
/// [`TlsLimits::max_handshakes`] at once. One that fails (untrusted or missing client
/// certificate, bytes that are not TLS, timeout) is counted in [`TlsListener::stats`], logged
/// at debug level only, and touches no other connection.
pub struct TlsListener {
    accept_rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    counters: Arc<Counters>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl TlsListener {
    /// Binds `addr` and serves TLS with `tls`, setting `TCP_NODELAY` on each connection.
    pub async fn bind(
        addr: impl ToSocketAddrs,
        tls: &ServerTls,
        limits: TlsLimits,
    ) -> Result<TlsListener, TlsError> {
        let tcp = TcpListener::bind(addr).await?;
        let config = Arc::new(tls.to_rustls()?);
        Ok(TlsListener::from_tcp(
            tcp,
            config,
            limits,
            Arc::new(|s: &TcpStream| s.set_nodelay(true)),
        )?)
    }

    /// Serves TLS with `config` on an already bound listener; `prepare` runs on each accepted
    /// connection first (keep-alive, nodelay). Must be called within a tokio runtime.
    pub fn from_tcp(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        limits: TlsLimits,
        prepare: Prepare,
    ) -> std::io::Result<TlsListener> {
        let local_addr = tcp.local_addr()?;
        let (accept_tx, accept_rx) = mpsc::channel(limits.accept_backlog.max(1));
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            acceptor: TlsAcceptor::from(config),
            limits,
            counters: counters.clone(),
            prepare,
            accept_tx,
        });
        let task = tokio::spawn(accept_loop(tcp, shared));
        Ok(TlsListener {
            accept_rx,
            counters,
            local_addr,
            task,
        })
    }

    /// Waits for the next connection whose handshake succeeded.
    pub async fn accept(&mut self) -> std::io::Result<(TlsStream<TcpStream>, SocketAddr)> {
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
    pub fn stats(&self) -> TlsStats {
        self.counters.snapshot()
    }
}

impl Drop for TlsListener {
    /// Stops accepting; streams already handed out keep working.
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(tcp: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_handshakes.max(1)));
    loop {
        // At the handshake limit, wait before accepting more (the kernel backlog holds them).
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (sock, peer) = match tcp.accept().await {
            Ok(c) => c,
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if let Err(e) = (shared.prepare)(&sock) {
            tracing::debug!(%peer, error = %e, "cannot set socket options");
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            handshake(sock, peer, &shared).await;
            drop(permit);
        });
    }
}

async fn handshake(sock: TcpStream, peer: SocketAddr, shared: &Shared) {
    let counters = &shared.counters;
    counters.handshakes_pending.fetch_add(1, Ordering::Relaxed);
    let result = tokio::time::timeout(
        shared.limits.handshake_timeout,
        shared.acceptor.accept(sock),
    )
    .await;
    counters.handshakes_pending.fetch_sub(1, Ordering::Relaxed);
    let stream = match result {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            Counters::bump(&counters.handshakes_failed);
            let e = TlsError::from_handshake(e);
            tracing::debug!(%peer, error = %e, "tls handshake failed");
            return;
        }
        Err(_) => {
            Counters::bump(&counters.handshakes_failed);
            tracing::debug!(%peer, "tls handshake timed out");
            return;
        }
    };
    Counters::bump(&counters.accepted);
    // Waits while the backlog is full (bounded: at most `max_handshakes` wait here); a
    // listener that is gone drops the stream.
    let _ = shared.accept_tx.send((stream, peer)).await;
}
