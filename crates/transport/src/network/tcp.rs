//! `tcp`, `tcp4` and `tcp6` in the registry, over [`crate::tcp`] (Go's keep-alive, nodelay
//! and backlog). The server and client do not come through here for TCP: they take their own
//! fast path over the same functions, with concrete socket types.

use super::registry::Entry;
use super::socket_listener::{SocketListener, Socketed};
use super::{BoxFuture, Dialed, Dialer, Listener};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub(super) fn entry(network: &'static str) -> Entry {
    Entry {
        listen: Arc::new(
            move |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let l = crate::tcp::bind_network(network, &addr).await?;
                    Ok(Box::new(Socketed(l)) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(TcpDialer(network)),
    }
}

/// A TCP listener in the registry (also `reuseport@`): accepted sockets get Go's keep-alive
/// and nodelay.
impl SocketListener for TcpListener {
    type Stream = tokio::net::TcpStream;

    fn accept_socket(&mut self) -> BoxFuture<'_, io::Result<(Self::Stream, SocketAddr)>> {
        Box::pin(async move {
            let (s, peer) = self.accept().await?;
            crate::tcp::prepare_accepted(&s)?;
            Ok((s, peer))
        })
    }

    fn bound_addr(&self) -> Option<SocketAddr> {
        self.local_addr().ok()
    }
}

struct TcpDialer(&'static str);

impl Dialer for TcpDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            let s = crate::tcp::connect_network(self.0, addr, timeout).await?;
            let remote = s
                .peer_addr()
                .map_or_else(|_| addr.to_owned(), |a| a.to_string());
            Ok(Dialed {
                stream: Box::new(s),
                remote,
            })
        })
    }
}
