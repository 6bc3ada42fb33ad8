//! One [`Listener`] for every listener whose peers and bound address are socket addresses
//! (tcp, reuseport, tls, quic, kcp): each says how it accepts and where it is bound, and
//! [`Socketed`] does the rest (boxing the stream, naming the peer `ip:port`).

use super::{BoxFuture, BoxStream, Listener};
use std::io;
use std::net::SocketAddr;

/// A listener of one network whose connections come from socket addresses.
pub(super) trait SocketListener: Send + 'static {
    /// The accepted connection.
    type Stream: crate::Io;

    /// Waits for the next connection and its peer's address.
    fn accept_socket(&mut self) -> BoxFuture<'_, io::Result<(Self::Stream, SocketAddr)>>;

    /// The address the listener is bound to, if it can tell.
    fn bound_addr(&self) -> Option<SocketAddr>;
}

/// A [`SocketListener`] as a registry [`Listener`].
pub(super) struct Socketed<L>(pub(super) L);

impl<L: SocketListener> Listener for Socketed<L> {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, String)>> {
        Box::pin(async move {
            let (s, peer) = self.0.accept_socket().await?;
            Ok((Box::new(s) as BoxStream, peer.to_string()))
        })
    }

    fn local_addr(&self) -> String {
        self.0
            .bound_addr()
            .map_or_else(String::new, |a| a.to_string())
    }

    fn socket_addr(&self) -> Option<SocketAddr> {
        self.0.bound_addr()
    }
}
