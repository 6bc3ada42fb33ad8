//! [`QuicListener`]: a QUIC endpoint that hands out one [`QuicStream`] per connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use quinn::{Endpoint, Incoming};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::error::QuicError;
use crate::limits::QuicLimits;
use crate::stats::{Counters, QuicStats};
use crate::stream::QuicStream;
use crate::tls::ServerTls;

/// One of a listener's [`QuicLimits::max_connections`] slots, held by a connection from its
/// first packet until it is closed.
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
    limits: QuicLimits,
    slots: Arc<Semaphore>,
    counters: Arc<Counters>,
    accept_tx: mpsc::Sender<(QuicStream, SocketAddr)>,
}

/// Accepts QUIC connections, as Go rpcx's `quic` network: TLS 1.3 with ALPN `rpcx`, and one
/// bidirectional stream per connection, handed out by [`QuicListener::accept`] once the client
/// has written its first bytes on it.
///
/// Handshakes run in the background; one that fails (a wrong or missing client certificate,
/// another ALPN, garbage) is counted in [`QuicListener::stats`] and logged at debug level only,
/// and touches no other connection. Datagrams that are not QUIC are dropped by quinn.
pub struct QuicListener {
    endpoint: Endpoint,
    accept_rx: mpsc::Receiver<(QuicStream, SocketAddr)>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for QuicListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicListener")
            .field("local_addr", &self.endpoint.local_addr().ok())
            .finish()
    }
}

impl QuicListener {
    /// Binds a UDP socket at `addr` and starts accepting. Needs a tokio runtime.
    pub fn bind(
        addr: SocketAddr,
        tls: &ServerTls,
        limits: QuicLimits,
    ) -> Result<QuicListener, QuicError> {
        let crypto =
            quinn::crypto::rustls::QuicServerConfig::try_from(crate::tls::server_config(tls)?)
                .map_err(|_| QuicError::NoQuicCipherSuite)?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        config.transport_config(limits.transport(1)?);
        config.max_incoming(limits.max_connections.max(1));
        let endpoint = Endpoint::server(config, addr)?;
        let (accept_tx, accept_rx) = mpsc::channel(limits.accept_backlog.max(1));
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
            counters: counters.clone(),
            accept_tx,
        });
        let task = tokio::spawn(accept_loop(endpoint.clone(), shared));
        Ok(QuicListener {
            endpoint,
            accept_rx,
            counters,
            task,
        })
    }

    /// Waits for the next connection's stream.
    pub async fn accept(&mut self) -> std::io::Result<(QuicStream, SocketAddr)> {
        self.accept_rx
            .recv()
            .await
            .ok_or_else(|| std::io::ErrorKind::BrokenPipe.into())
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// The listener's counters.
    pub fn stats(&self) -> QuicStats {
        self.counters.snapshot()
    }
}

impl Drop for QuicListener {
    /// Stops accepting; streams already handed out keep working.
    fn drop(&mut self) {
        self.task.abort();
        self.endpoint.set_server_config(None);
    }
}

async fn accept_loop(endpoint: Endpoint, shared: Arc<Shared>) {
    while let Some(incoming) = endpoint.accept().await {
        match shared.slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let slot = Slot::new(permit, shared.counters.clone());
                tokio::spawn(establish(incoming, slot, shared.clone()));
            }
            Err(_) => {
                Counters::bump(&shared.counters.refused);
                incoming.refuse();
            }
        }
    }
}

/// Runs one handshake and waits for the client's stream.
async fn establish(incoming: Incoming, slot: Slot, shared: Arc<Shared>) {
    let counters = &shared.counters;
    let peer = incoming.remote_address();
    let handshake = async { incoming.accept()?.await };
    let conn = match tokio::time::timeout(shared.limits.handshake_timeout, handshake).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            Counters::bump(&counters.handshakes_failed);
            tracing::debug!(%peer, error = %e, "quic handshake failed");
            return;
        }
        Err(_) => {
            Counters::bump(&counters.handshakes_failed);
            tracing::debug!(%peer, "quic handshake timed out");
            return;
        }
    };
    // Go's client opens the stream at once but the server learns of it only with the first
    // bytes, so there is no deadline here beyond QUIC's idle timeout.
    let (send, recv) = match conn.accept_bi().await {
        Ok(s) => s,
        Err(e) => {
            Counters::bump(&counters.streams_failed);
            tracing::debug!(%peer, error = %e, "quic connection ended without a stream");
            return;
        }
    };
    let stream = QuicStream::new(send, recv, conn, None, Some(slot));
    match shared.accept_tx.try_send((stream, peer)) {
        Ok(()) => Counters::bump(&counters.accepted),
        Err(_) => Counters::bump(&counters.refused),
    }
}
