//! One TCP port for rpcx and HTTP (§2.1): the first byte 0x08 is rpcx, anything else HTTP.

use crate::service::Gateway;
use std::time::Duration;
use tokio::io::ReadBuf;
use tokio::net::{TcpListener, TcpStream};

/// The first byte of every rpcx frame (`protocol.MagicNumber`).
pub const RPCX_MAGIC: u8 = 0x08;

impl Gateway {
    /// Serves one accepted TCP connection on a shared port: peeks the first byte (without
    /// consuming it) and hands the stream to the rpcx server when it is 0x08, else to the HTTP
    /// front end (when the gateway or JSON-RPC is on; else the connection is closed). A
    /// connection that sends nothing within [`HttpOptions::header_timeout`] is closed.
    ///
    /// [`HttpOptions::header_timeout`]: crate::HttpOptions::header_timeout
    pub async fn serve_stream(&self, stream: TcpStream) {
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let _ = stream.set_nodelay(true);
        let timeout = self.shared.opts.header_timeout;
        let (stream, first) = match tokio::time::timeout(timeout, peek_byte(stream)).await {
            Ok((stream, Ok(Some(first)))) => (stream, first),
            _ => return,
        };
        if first == RPCX_MAGIC {
            let server = self.server().clone();
            server.serve_connection(stream, peer).await;
        } else if self.shared.opts.gateway || self.shared.opts.jsonrpc {
            if let Err(e) = self.serve_http(stream).await {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        }
    }

    /// Accepts on `listener` and runs [`Gateway::serve_stream`] per connection, forever, as
    /// rpcx's `Serve("tcp", addr)` with cmux does. Drop or abort the task to stop accepting;
    /// `Server::shutdown` ends the rpcx connections, and gateway calls then answer `500` with the
    /// server's shutdown error.
    pub async fn serve(&self, listener: TcpListener) {
        let mut backoff = Backoff::default();
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    backoff.reset();
                    let this = self.clone();
                    tokio::spawn(async move { this.serve_stream(stream).await });
                }
                Err(e) => backoff.wait(&e).await,
            }
        }
    }
}

/// The first byte waiting on `stream`, not consumed; `None` at end of stream. Polls
/// `poll_peek` directly: `TcpStream::peek`'s future trips rustc's higher-ranked `Send` check
/// inside spawned tasks.
async fn peek_byte(stream: TcpStream) -> (TcpStream, std::io::Result<Option<u8>>) {
    let mut first = [0u8; 1];
    let n = std::future::poll_fn(|cx| {
        let mut buf = ReadBuf::new(&mut first);
        stream.poll_peek(cx, &mut buf)
    })
    .await;
    let first = n.map(|n| (n == 1).then_some(first[0]));
    (stream, first)
}

/// Backs off accept errors (out of file descriptors) up to 1 s instead of spinning.
pub(crate) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(5))
    }
}

impl Backoff {
    pub(crate) fn reset(&mut self) {
        *self = Backoff::default();
    }

    pub(crate) async fn wait(&mut self, e: &std::io::Error) {
        tracing::debug!(error = %e, "accept failed; backing off");
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(1));
    }
}
