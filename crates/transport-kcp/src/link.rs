//! A running session: its state behind a lock, the UDP socket it writes to, and the driver task
//! that runs KCP's timer, retransmits, and ends the session when it is dead, idle or closed.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::Notify;

use crate::clock::{diff, now_ms};
use crate::config::KcpConfig;
use crate::session::{Input, SessionCore};
use crate::stats::Counters;
use crate::wire::FecPacket;

/// Longest the driver sleeps between checks of the idle timeout and the linger.
const MAX_NAP: Duration = Duration::from_millis(500);

pub(crate) struct LinkState {
    pub(crate) core: SessionCore,
    /// Received message bytes not yet read, from `pending_pos` on.
    pub(crate) pending: Vec<u8>,
    pub(crate) pending_pos: usize,
    pub(crate) reader: Option<Waker>,
    pub(crate) writer: Option<Waker>,
    /// Set once the session is over; reads and writes fail with this kind.
    pub(crate) closed: Option<io::ErrorKind>,
    /// When the stream was dropped or shut down.
    pub(crate) local_closed: Option<Instant>,
    last_heard: Instant,
    next_update: u32,
    /// Datagrams the socket would not take without waiting; the driver sends them.
    unsent: Vec<Vec<u8>>,
}

pub(crate) struct Link {
    state: Mutex<LinkState>,
    wake_driver: Notify,
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    connected: bool,
    conv: u32,
    pub(crate) counters: Arc<Counters>,
    idle_timeout: Option<Duration>,
    linger: Duration,
}

impl Link {
    pub(crate) fn new(
        conv: u32,
        cfg: &KcpConfig,
        socket: Arc<UdpSocket>,
        peer: SocketAddr,
        connected: bool,
        counters: Arc<Counters>,
    ) -> Link {
        let now = now_ms();
        Link {
            state: Mutex::new(LinkState {
                core: SessionCore::new(conv, cfg, now),
                pending: Vec::new(),
                pending_pos: 0,
                reader: None,
                writer: None,
                closed: None,
                local_closed: None,
                last_heard: Instant::now(),
                next_update: now,
                unsent: Vec::new(),
            }),
            wake_driver: Notify::new(),
            socket,
            peer,
            connected,
            conv,
            counters,
            idle_timeout: cfg.idle_timeout,
            linger: cfg.linger,
        }
    }

    pub(crate) fn conv(&self) -> u32 {
        self.conv
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Feeds one opened FEC packet from the peer and wakes whoever can now make progress.
    pub(crate) fn input(&self, pkt: &FecPacket<'_>) -> Input {
        let mut st = self.lock();
        st.last_heard = Instant::now();
        let verdict = st.core.input(pkt, now_ms(), &self.counters);
        if st.core.kcp().peek_size().is_some() {
            wake(&mut st.reader);
        }
        if st.core.writable() {
            wake(&mut st.writer);
        }
        self.send_now(&mut st);
        verdict
    }

    /// Sends what the session has ready without waiting; what the socket refuses goes to the
    /// driver.
    pub(crate) fn send_now(&self, st: &mut LinkState) {
        let mut ready = st.core.take_datagrams();
        if ready.is_empty() {
            return;
        }
        if !st.unsent.is_empty() {
            st.unsent.append(&mut ready);
            self.wake_driver.notify_one();
            return;
        }
        let mut it = ready.into_iter();
        for d in it.by_ref() {
            let sent = if self.connected {
                self.socket.try_send(&d)
            } else {
                self.socket.try_send_to(&d, self.peer)
            };
            match sent {
                Ok(_) => Counters::add(&self.counters.datagrams_out, 1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    st.unsent.push(d);
                    break;
                }
                // UDP send errors (an ICMP-refused peer, say) are like loss: KCP retransmits.
                Err(_) => {}
            }
        }
        if !st.unsent.is_empty() {
            st.unsent.extend(it);
            self.wake_driver.notify_one();
        }
    }

    /// Bytes the session holds: [`SessionCore::buffered_bytes`] plus unread and unsent bytes.
    pub(crate) fn buffered_bytes(&self) -> usize {
        let st = self.lock();
        st.core.buffered_bytes()
            + (st.pending.len() - st.pending_pos)
            + st.unsent.iter().map(Vec::len).sum::<usize>()
    }

    /// Marks the stream gone: the driver keeps retransmitting until the peer acknowledged
    /// everything or the linger runs out.
    pub(crate) fn close_local(&self) {
        let mut st = self.lock();
        if st.local_closed.is_none() {
            st.local_closed = Some(Instant::now());
        }
        self.wake_driver.notify_one();
    }

    pub(crate) fn notify_driver(&self) {
        self.wake_driver.notify_one();
    }

    /// One pass of the driver: runs the timer, decides whether the session is over, and returns
    /// the datagrams to send, how long to sleep, and whether to stop.
    fn tick(&self) -> (Vec<Vec<u8>>, Duration, bool) {
        let mut st = self.lock();
        let now = now_ms();
        if diff(now, st.next_update) >= 0 {
            st.next_update = st.core.update(now);
        }
        let mut out = std::mem::take(&mut st.unsent);
        out.append(&mut st.core.take_datagrams());
        if st.closed.is_none() {
            let idle = self
                .idle_timeout
                .is_some_and(|t| st.last_heard.elapsed() >= t);
            if st.core.kcp().is_dead() || idle {
                st.closed = Some(io::ErrorKind::TimedOut);
                Counters::add(&self.counters.sessions_timed_out, 1);
            }
        }
        let lingered = st
            .local_closed
            .is_some_and(|at| st.core.kcp().wait_snd() == 0 || at.elapsed() >= self.linger);
        if lingered && st.closed.is_none() {
            st.closed = Some(io::ErrorKind::BrokenPipe);
        }
        if st.closed.is_some() || st.core.writable() {
            wake(&mut st.writer);
        }
        if st.closed.is_some() {
            wake(&mut st.reader);
        }
        let wait = diff(st.next_update, now_ms()).max(1) as u64;
        let nap = Duration::from_millis(wait).min(MAX_NAP);
        (out, nap, st.closed.is_some())
    }

    async fn send(&self, d: &[u8]) {
        let sent = if self.connected {
            self.socket.send(d).await
        } else {
            self.socket.send_to(d, self.peer).await
        };
        if sent.is_ok() {
            Counters::add(&self.counters.datagrams_out, 1);
        }
    }
}

/// Runs a session until it is over, then calls `on_exit`.
pub(crate) async fn drive(link: Arc<Link>, on_exit: impl FnOnce()) {
    Counters::add(&link.counters.sessions_active, 1);
    loop {
        let (out, nap, done) = link.tick();
        for d in &out {
            link.send(d).await;
        }
        if done {
            break;
        }
        tokio::select! {
            _ = link.wake_driver.notified() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
    link.counters
        .sessions_active
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(conv = link.conv, peer = %link.peer, "kcp session ended");
    on_exit();
}

fn wake(w: &mut Option<Waker>) {
    if let Some(w) = w.take() {
        w.wake();
    }
}
