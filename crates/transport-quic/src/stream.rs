//! [`QuicStream`]: the one bidirectional stream of a QUIC connection, as a byte stream.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use quinn::{Connection, Endpoint, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::QuicError;
use crate::limits::QuicLimits;
use crate::listener::Slot;
use crate::tls::ClientTls;

/// How long a dropped stream waits for the peer to acknowledge its last bytes before the
/// connection is closed.
const LINGER: Duration = Duration::from_secs(10);

/// The rpcx byte stream over one QUIC connection: `AsyncRead + AsyncWrite + Send + Unpin`,
/// ready for `Server::serve_connection` and `Client::from_io`.
///
/// Shutting the write half down finishes the QUIC stream (the peer reads EOF). Dropping the
/// stream finishes it too and closes the connection once the peer has acknowledged every byte
/// (or after 10 s), so a reply written just before the drop is not lost.
#[derive(Debug)]
pub struct QuicStream {
    send: SendStream,
    recv: RecvStream,
    conn: Connection,
    /// A dialed stream owns its client endpoint.
    endpoint: Option<Endpoint>,
    /// An accepted stream holds its listener's connection slot.
    slot: Option<Slot>,
}

impl QuicStream {
    pub(crate) fn new(
        send: SendStream,
        recv: RecvStream,
        conn: Connection,
        endpoint: Option<Endpoint>,
        slot: Option<Slot>,
    ) -> QuicStream {
        QuicStream {
            send,
            recv,
            conn,
            endpoint,
            slot,
        }
    }

    /// Dials `addr`, checks the server's certificate for `server_name` (a DNS name or an IP
    /// address) as `tls` says, and opens the connection's one bidirectional stream. The server
    /// hears of the stream when the first bytes are written, as with Go rpcx.
    pub async fn connect(
        addr: SocketAddr,
        server_name: &str,
        tls: &ClientTls,
        limits: &QuicLimits,
    ) -> Result<QuicStream, QuicError> {
        let crypto =
            quinn::crypto::rustls::QuicClientConfig::try_from(crate::tls::client_config(tls)?)
                .map_err(|_| QuicError::NoQuicCipherSuite)?;
        let mut config = quinn::ClientConfig::new(std::sync::Arc::new(crypto));
        // The server never opens streams towards a client.
        config.transport_config(limits.transport(0)?);
        let bind: SocketAddr = if addr.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let endpoint = Endpoint::client(bind)?;
        let connecting = endpoint.connect_with(config, addr, server_name)?;
        let conn = tokio::time::timeout(limits.handshake_timeout, connecting)
            .await
            .map_err(|_| QuicError::Connection(quinn::ConnectionError::TimedOut))??;
        let (send, recv) = conn.open_bi().await?;
        Ok(QuicStream::new(send, recv, conn, Some(endpoint), None))
    }

    /// The peer's UDP address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// Says why the connection ended, when it did: a read or write error on a closed
    /// connection otherwise reads only "connection lost", while the reason holds the TLS alert
    /// (for example the server refusing a missing client certificate).
    fn explain<T>(&self, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(Err(e)) => match self.conn.close_reason() {
                Some(reason) => {
                    Poll::Ready(Err(io::Error::new(e.kind(), QuicError::Connection(reason))))
                }
                None => Poll::Ready(Err(e)),
            },
            other => other,
        }
    }

    /// The underlying QUIC connection (statistics, the peer's certificates).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl AsyncRead for QuicStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.recv).poll_read(cx, buf);
        self.explain(r)
    }
}

impl AsyncWrite for QuicStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = AsyncWrite::poll_write(Pin::new(&mut self.send), cx, buf);
        self.explain(r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.send).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.send).poll_shutdown(cx)
    }
}

impl Drop for QuicStream {
    fn drop(&mut self) {
        // Harmless if already finished (shutdown) or reset.
        let _ = self.send.finish();
        let acknowledged = self.send.stopped();
        let conn = self.conn.clone();
        let endpoint = self.endpoint.take();
        let slot = self.slot.take();
        let linger = async move {
            let _ = tokio::time::timeout(LINGER, acknowledged).await;
            conn.close(0u32.into(), b"done");
            drop(slot);
            if let Some(endpoint) = endpoint {
                let _ = tokio::time::timeout(LINGER, endpoint.wait_idle()).await;
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(linger);
            }
            // No runtime left: close at once.
            Err(_) => self.conn.close(0u32.into(), b"done"),
        }
    }
}
