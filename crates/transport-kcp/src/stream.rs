//! [`KcpStream`]: one KCP session as a byte stream, and the dialer.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{ToSocketAddrs, UdpSocket, lookup_host};
use tokio::sync::watch;

use crate::clock::now_ms;
use crate::config::KcpConfig;
use crate::kcp::peek_conv;
use crate::link::{Link, drive};
use crate::session::Input;
use crate::stats::{Counters, KcpStats};
use crate::wire::{DatagramError, FLAG_DATA, FecPacket, MAX_DATAGRAM, open};

/// One KCP session carrying a byte stream (the rpcx byte stream), from
/// [`KcpListener::accept`](crate::KcpListener::accept) or [`KcpStream::connect`].
///
/// Writes are split into KCP messages of at most one MSS (1348 bytes), as kcp-go's `Write`
/// does, and a write waits while the send window is full. KCP has no FIN: dropping or shutting
/// down the stream stops it locally (after retransmitting what is unacknowledged, within the
/// linger); the peer learns of it only by its own timeouts, as with kcp-go.
pub struct KcpStream {
    link: Arc<Link>,
}

impl std::fmt::Debug for KcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KcpStream")
            .field("conv", &self.link.conv())
            .field("peer", &self.link.peer())
            .finish()
    }
}

impl KcpStream {
    pub(crate) fn from_link(link: Arc<Link>) -> KcpStream {
        KcpStream { link }
    }

    /// Dials `addr` like kcp-go's `DialWithOptions(addr, block, 10, 3)`: a fresh UDP socket, a
    /// random conv, no handshake (the first write reaches the peer's listener).
    pub async fn connect(addr: impl ToSocketAddrs, config: KcpConfig) -> io::Result<KcpStream> {
        let peer = lookup_host(addr)
            .await?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to dial"))?;
        let local: SocketAddr = if peer.is_ipv4() {
            "0.0.0.0:0".parse()
        } else {
            "[::]:0".parse()
        }
        .map_err(io::Error::other)?;
        let socket = UdpSocket::bind(local).await?;
        socket.connect(peer).await?;
        let socket = Arc::new(socket);
        let conv: u32 = rand::random();
        let counters = Arc::new(Counters::default());
        let link = Arc::new(Link::new(
            conv,
            &config,
            socket.clone(),
            peer,
            true,
            counters,
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(client_recv_loop(link.clone(), socket, config, stop_rx));
        tokio::spawn(drive(link.clone(), move || {
            let _ = stop_tx.send(true);
        }));
        Ok(KcpStream { link })
    }

    /// The KCP conversation id.
    pub fn conv(&self) -> u32 {
        self.link.conv()
    }

    /// The peer's UDP address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.link.peer()
    }

    /// The local UDP address (the listener's, for an accepted stream).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.link.local_addr()
    }

    /// Bytes this session holds right now (KCP's send and receive queues, FEC groups, unread
    /// and unsent bytes); never more than [`KcpConfig::session_budget_bytes`].
    pub fn buffered_bytes(&self) -> usize {
        self.link.buffered_bytes()
    }

    /// The counters of the socket under this stream: the listener's for an accepted stream,
    /// the stream's own for a dialed one.
    pub fn stats(&self) -> KcpStats {
        self.link.counters.snapshot()
    }
}

impl Drop for KcpStream {
    fn drop(&mut self) {
        self.link.close_local();
    }
}

impl AsyncRead for KcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let mut st = self.link.lock();
        loop {
            if st.pending_pos < st.pending.len() {
                let n = buf.remaining().min(st.pending.len() - st.pending_pos);
                let from = st.pending_pos;
                buf.put_slice(&st.pending[from..from + n]);
                st.pending_pos += n;
                return Poll::Ready(Ok(()));
            }
            st.pending.clear();
            st.pending_pos = 0;
            let st = &mut *st;
            if st.core.recv(&mut st.pending).is_some() {
                continue;
            }
            if let Some(kind) = st.closed {
                return Poll::Ready(Err(kind.into()));
            }
            st.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
    }
}

impl AsyncWrite for KcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut st = self.link.lock();
        if let Some(kind) = st.closed {
            return Poll::Ready(Err(kind.into()));
        }
        if st.local_closed.is_some() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let n = st.core.write(buf, now_ms());
        if n == 0 {
            st.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        self.link.send_now(&mut st);
        drop(st);
        self.link.notify_driver();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written bytes are already in KCP's queue, and KCP owns their delivery.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.close_local();
        Poll::Ready(Ok(()))
    }
}

/// Why an opened datagram could not be handed to a session.
pub(crate) fn count_drop(counters: &Counters, e: DatagramError) {
    let c = match e {
        DatagramError::TooShort(_) => &counters.dropped_short,
        DatagramError::Checksum => &counters.dropped_checksum,
        _ => &counters.dropped_malformed,
    };
    Counters::add(c, 1);
}

/// Reads the dialed socket until the session ends; only datagrams of this conv (or parity
/// shards, which carry none) reach the session.
async fn client_recv_loop(
    link: Arc<Link>,
    socket: Arc<UdpSocket>,
    config: KcpConfig,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let n = tokio::select! {
            r = socket.recv(&mut buf) => match r {
                Ok(n) => n,
                // ICMP port unreachable and the like: keep listening, KCP retransmits.
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let counters = &link.counters;
        Counters::add(&counters.datagrams_in, 1);
        let fec = match open(&config.crypt, &mut buf[..n]).and_then(FecPacket::parse) {
            Ok(p) => p,
            Err(e) => {
                count_drop(counters, e);
                continue;
            }
        };
        if fec.flag == FLAG_DATA && fec.kcp_payload().and_then(peek_conv) != Some(link.conv()) {
            Counters::add(&counters.dropped_no_session, 1);
            continue;
        }
        if link.input(&fec) == Input::Malformed {
            Counters::add(&counters.dropped_malformed, 1);
        }
    }
}
