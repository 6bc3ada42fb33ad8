//! TCP: dialing with a timeout and listening, for `tcp`, `tcp4` and `tcp6` addresses.

use std::io;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

/// True for the networks TCP serves (`tcp`, `tcp4`, `tcp6`).
pub fn is_tcp_network(network: &str) -> bool {
    matches!(network, "tcp" | "tcp4" | "tcp6")
}

/// Connects to `addr` within `timeout`, with `TCP_NODELAY` set (frames are already batched).
pub async fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect to {addr} timed out"),
            )
        })??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Binds a listener on `addr`.
pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
