//! The IPv4 multicast socket on 224.0.0.251:5353 that responders and browsers share the
//! port with (socket2 for the options tokio does not expose).

use crate::wire::MAX_PACKET;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use tokio::net::UdpSocket;

/// The mDNS IPv4 group.
pub(crate) const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);

/// The mDNS port.
pub(crate) const PORT: u16 = 5353;

/// A socket bound to `0.0.0.0:5353` (shared with every other mDNS socket of the host through
/// SO_REUSEADDR/SO_REUSEPORT), member of the group on each IPv4 interface, sending with
/// multicast loop on (so that peers on the same host hear each other).
#[derive(Debug)]
pub(crate) struct Link {
    socket: UdpSocket,
    interfaces: Vec<Ipv4Addr>,
    /// Serialises "pick the outgoing interface, then send" between tasks.
    send_lock: tokio::sync::Mutex<()>,
}

/// The IPv4 addresses of the interfaces that are up, loopback ones only when `loopback`.
pub(crate) fn interface_addrs(loopback: bool) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| loopback || !i.is_loopback())
        .filter_map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) => Some(v4.ip),
            if_addrs::IfAddr::V6(_) => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Link {
    /// Opens the socket and joins the group on every IPv4 interface (loopback ones too when
    /// `loopback`). Must be called inside a Tokio runtime.
    pub(crate) fn open(loopback: bool) -> io::Result<Link> {
        let interfaces = interface_addrs(loopback);
        if interfaces.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "no IPv4 interface to send mDNS on",
            ));
        }
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
        socket.set_reuse_port(true)?;
        socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT)).into())?;
        socket.set_multicast_loop_v4(true)?;
        socket.set_multicast_ttl_v4(255)?;
        let mut joined = Vec::new();
        for ip in &interfaces {
            match socket.join_multicast_v4(&GROUP, ip) {
                Ok(()) => joined.push(*ip),
                Err(e) => {
                    tracing::debug!(interface = %ip, error = %e, "cannot join the mDNS group")
                }
            }
        }
        if joined.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "could not join 224.0.0.251 on any interface",
            ));
        }
        socket.set_nonblocking(true)?;
        Ok(Link {
            socket: UdpSocket::from_std(socket.into())?,
            interfaces: joined,
            send_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Sends `bytes` to the group on every joined interface; an error only when no
    /// interface took it.
    pub(crate) async fn multicast(&self, bytes: &[u8]) -> io::Result<()> {
        let _guard = self.send_lock.lock().await;
        let group = SocketAddrV4::new(GROUP, PORT);
        let mut last = None;
        let mut sent = false;
        for ip in &self.interfaces {
            let result = match SockRef::from(&self.socket).set_multicast_if_v4(ip) {
                Ok(()) => self.socket.send_to(bytes, group).await.map(drop),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => sent = true,
                Err(e) => {
                    tracing::debug!(interface = %ip, error = %e, "mDNS multicast send failed");
                    last = Some(e);
                }
            }
        }
        match last {
            Some(e) if !sent => Err(e),
            _ => Ok(()),
        }
    }

    /// Sends `bytes` to one peer (a unicast answer).
    pub(crate) async fn unicast(&self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        self.socket.send_to(bytes, to).await.map(drop)
    }

    /// Receives one datagram into `buf` (at least [`MAX_PACKET`] + 1 bytes); `Ok(None)` for a
    /// datagram longer than [`MAX_PACKET`], which is dropped.
    pub(crate) async fn recv<'b>(
        &self,
        buf: &'b mut [u8],
    ) -> io::Result<Option<(&'b [u8], SocketAddr)>> {
        let (n, from) = self.socket.recv_from(buf).await?;
        if n > MAX_PACKET {
            tracing::debug!(%from, bytes = n, "mDNS datagram over the size limit dropped");
            return Ok(None);
        }
        Ok(Some((&buf[..n], from)))
    }
}

/// A receive buffer for [`Link::recv`].
pub(crate) fn recv_buffer() -> Vec<u8> {
    vec![0; MAX_PACKET + 1]
}
