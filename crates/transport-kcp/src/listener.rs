//! [`KcpListener`]: one UDP socket, demultiplexed by peer address and conv into sessions.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::{ToSocketAddrs, UdpSocket};
use tokio::sync::{Notify, mpsc};

use crate::config::KcpConfig;
use crate::kcp::{peek_conv, starts_conversation};
use crate::link::{Link, drive};
use crate::session::Input;
use crate::stats::{Counters, KcpStats};
use crate::stream::{KcpStream, count_drop};
use crate::wire::{FLAG_DATA, FecPacket, MAX_DATAGRAM, open};

type Sessions = HashMap<SocketAddr, HashMap<u32, Arc<Link>>>;

struct Shared {
    socket: Arc<UdpSocket>,
    config: KcpConfig,
    sessions: Mutex<Sessions>,
    counters: Arc<Counters>,
    accept_tx: mpsc::Sender<KcpStream>,
    listener_gone: AtomicBool,
    wake: Notify,
}

impl Shared {
    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Accepts KCP sessions on one UDP socket, like kcp-go's `ListenWithOptions(addr, block, 10, 3)`.
///
/// A session starts with the first valid data shard from a new (address, conv) pair that pushes
/// data within a fresh conversation's first receive window. Datagrams
/// that are short, fail the CRC (another key), or do not parse are dropped and counted in
/// [`KcpListener::stats`]. At most [`KcpConfig::max_sessions`] sessions exist at once and at
/// most [`KcpConfig::accept_backlog`] wait for `accept`; further peers are refused. The socket
/// keeps serving accepted sessions after the listener is dropped, until the last one ends.
pub struct KcpListener {
    shared: Arc<Shared>,
    accept_rx: mpsc::Receiver<KcpStream>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for KcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KcpListener")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl KcpListener {
    /// Binds a UDP socket and starts demultiplexing it.
    pub async fn bind(addr: impl ToSocketAddrs, config: KcpConfig) -> io::Result<KcpListener> {
        let socket = Arc::new(UdpSocket::bind(addr).await?);
        let local_addr = socket.local_addr()?;
        let (accept_tx, accept_rx) = mpsc::channel(config.accept_backlog.max(1));
        let shared = Arc::new(Shared {
            socket,
            config,
            sessions: Mutex::new(HashMap::new()),
            counters: Arc::new(Counters::default()),
            accept_tx,
            listener_gone: AtomicBool::new(false),
            wake: Notify::new(),
        });
        tokio::spawn(recv_loop(shared.clone()));
        Ok(KcpListener {
            shared,
            accept_rx,
            local_addr,
        })
    }

    /// Waits for the next session.
    pub async fn accept(&mut self) -> io::Result<(KcpStream, SocketAddr)> {
        match self.accept_rx.recv().await {
            Some(s) => {
                let peer = s.peer_addr();
                Ok((s, peer))
            }
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The socket's counters: datagrams in and out, drops by reason, sessions.
    pub fn stats(&self) -> KcpStats {
        self.shared.counters.snapshot()
    }
}

impl Drop for KcpListener {
    fn drop(&mut self) {
        self.shared.listener_gone.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

async fn recv_loop(shared: Arc<Shared>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        if shared.listener_gone.load(Ordering::Acquire) && shared.sessions().is_empty() {
            return;
        }
        tokio::select! {
            r = shared.socket.recv_from(&mut buf) => {
                match r {
                    Ok((n, from)) => handle(&shared, &mut buf[..n], from),
                    // Not expected on a bound UDP socket; do not spin if it keeps failing.
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
                }
            }
            _ = shared.wake.notified() => {}
        }
    }
}

fn handle(shared: &Arc<Shared>, datagram: &mut [u8], from: SocketAddr) {
    let counters = &shared.counters;
    Counters::add(&counters.datagrams_in, 1);
    let pkt = match open(&shared.config.crypt, datagram).and_then(FecPacket::parse) {
        Ok(p) => p,
        Err(e) => return count_drop(counters, e),
    };
    let link = if pkt.flag == FLAG_DATA {
        let Some(conv) = pkt.kcp_payload().and_then(peek_conv) else {
            return Counters::add(&counters.dropped_malformed, 1);
        };
        let found = shared
            .sessions()
            .get(&from)
            .and_then(|m| m.get(&conv))
            .cloned();
        match found {
            Some(link) => link,
            None => return open_session(shared, &pkt, from, conv),
        }
    } else {
        // A parity shard carries no conv: it belongs to the peer's only session, if one.
        let only = shared.sessions().get(&from).and_then(|m| {
            let mut it = m.values();
            match (it.next(), it.next()) {
                (Some(l), None) => Some(l.clone()),
                _ => None,
            }
        });
        match only {
            Some(link) => link,
            None => return Counters::add(&counters.dropped_no_session, 1),
        }
    };
    if link.input(&pkt) == Input::Malformed {
        Counters::add(&counters.dropped_malformed, 1);
    }
}

/// Starts a session for a new (address, conv) whose first data shard parses, within the budgets.
///
/// Only a PUSH within a fresh conversation's first window opens one: a stray ACK, or traffic of a
/// session this side already ended (its sn has moved on), would open a session that can never
/// receive anything; dropping it lets the peer's dead-link rule end its side instead.
fn open_session(shared: &Arc<Shared>, pkt: &FecPacket<'_>, from: SocketAddr, conv: u32) {
    let counters = &shared.counters;
    let fresh = pkt
        .kcp_payload()
        .is_some_and(|k| starts_conversation(k, shared.config.recv_window));
    if !fresh {
        return Counters::add(&counters.dropped_no_session, 1);
    }
    let total: usize = shared.sessions().values().map(HashMap::len).sum();
    if total >= shared.config.max_sessions {
        return Counters::add(&counters.sessions_refused, 1);
    }
    let Ok(permit) = shared.accept_tx.try_reserve() else {
        return Counters::add(&counters.sessions_refused, 1);
    };
    let link = Arc::new(Link::new(
        conv,
        &shared.config,
        shared.socket.clone(),
        from,
        false,
        counters.clone(),
    ));
    if link.input(pkt) == Input::Malformed {
        return Counters::add(&counters.dropped_malformed, 1);
    }
    shared
        .sessions()
        .entry(from)
        .or_default()
        .insert(conv, link.clone());
    tracing::debug!(conv, peer = %from, "kcp session opened");
    let weak = Arc::downgrade(shared);
    tokio::spawn(drive(link.clone(), move || {
        if let Some(shared) = weak.upgrade() {
            let mut map = shared.sessions();
            if let Some(m) = map.get_mut(&from) {
                m.remove(&conv);
                if m.is_empty() {
                    map.remove(&from);
                }
            }
            drop(map);
            shared.wake.notify_one();
        }
    }));
    permit.send(KcpStream::from_link(link));
}
