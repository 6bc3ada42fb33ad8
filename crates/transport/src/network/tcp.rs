//! `tcp`, `tcp4` and `tcp6` in the registry, over [`crate::tcp`] (Go's keep-alive, nodelay
//! and backlog). The server and client do not come through here for TCP: they take their own
//! fast path over the same functions, with concrete socket types.

use super::registry::Entry;
use super::{BoxFuture, BoxStream, Dialed, Dialer, Listener};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub(super) fn entry(network: &'static str) -> Entry {
    Entry {
        listen: Arc::new(
            move |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let l = crate::tcp::bind_network(network, &addr).await?;
                    Ok(Box::new(Tcp(l)) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(TcpDialer(network)),
    }
}

/// A TCP listener in the registry (also `reuseport@`).
pub(super) struct Tcp(pub(super) TcpListener);

impl Listener for Tcp {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, String)>> {
        Box::pin(async move {
            let (s, peer) = self.0.accept().await?;
            crate::tcp::prepare_accepted(&s)?;
            Ok((Box::new(s) as BoxStream, peer.to_string()))
        })
    }

    fn local_addr(&self) -> String {
        self.0
            .local_addr()
            .map_or_else(|_| String::new(), |a| a.to_string())
    }

    fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.local_addr().ok()
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
