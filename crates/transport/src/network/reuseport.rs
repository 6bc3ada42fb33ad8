//! `reuseport@host:port` (feature `reuseport`, Unix only): a TCP listener with `SO_REUSEPORT`,
//! so several processes (or several servers in one process) share a port and the kernel
//! spreads connections among them, as Go rpcx's `reuseport` network (kavu/go_reuseport) does.
//! The address family is IPv6 when the address is an IPv6 one, else IPv4 (tcp6 / tcp4, as Go).
//!
//! There is no reuseport dialer, as in Go: clients reach such a server as `tcp@host:port`,
//! and dialing `reuseport@` fails with a message saying so.

use super::registry::Entry;
use super::socket_listener::Socketed;
use super::{BoxFuture, Dialed, Dialer, Listener};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub(super) fn entry() -> Entry {
    Entry {
        listen: Arc::new(
            |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let l = bind(&addr).await?;
                    Ok(Box::new(Socketed(l)) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(NoDialer),
    }
}

/// Binds `addr` (`host:port`) with `SO_REUSEPORT` and `SO_REUSEADDR`, the system's largest
/// backlog, in the family Go picks: tcp6 for an IPv6 address, else tcp4.
pub async fn bind(addr: &str) -> io::Result<TcpListener> {
    let network = if is_ipv6(addr) { "tcp6" } else { "tcp4" };
    let a = crate::tcp::resolve(network, addr).await?[0];
    bind_one(a)
}

fn is_ipv6(addr: &str) -> bool {
    addr.parse::<SocketAddr>().is_ok_and(|a| a.is_ipv6())
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(crate::tcp::listen_backlog())?;
    TcpListener::from_std(socket.into())
}

struct NoDialer;

impl Dialer for NoDialer {
    fn dial<'a>(&'a self, addr: &'a str, _: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "reuseport is a listener only (as in Go rpcx): dial tcp@{addr} to reach it"
                ),
            ))
        })
    }
}
