//! `http@` CONNECT tunnelling (§2.4): an HTTP CONNECT to `/_rpcx_`, answered
//! `HTTP/1.0 200 Connected to rpcx`, after which the connection carries plain rpcx frames.
//!
//! The handshake itself is in `fastrpc_transport::http_connect` (so that the `http@` network
//! of the transport registry, below the server, can use it) and re-exported here; this module
//! adds the server-side loops that hand accepted tunnels to a `Server`.

use fastrpc_server::Server;
pub use fastrpc_transport::http_connect::{
    CONNECTED, ConnectError, DEFAULT_HEAD_TIMEOUT, MAX_HEAD_BYTES, RPC_PATH, accept_connect,
    connect_handshake, dial,
};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// Server side: the CONNECT handshake on `io`, then `server` serves the rpcx connection until
/// it closes. A failed handshake is logged at debug level and the connection dropped.
pub async fn serve_connect_stream<S>(server: &Server, io: S, peer: String, timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    match accept_connect(io, timeout).await {
        Ok(stream) => server.serve_connection(stream, peer).await,
        Err(e) => tracing::debug!(%peer, error = %e, "CONNECT handshake failed"),
    }
}

/// Server side of `http@addr`: accepts on `listener` and runs [`serve_connect_stream`] per
/// connection, forever (drop or abort the task to stop accepting).
pub async fn serve_connect(server: Server, listener: TcpListener, head_timeout: Duration) {
    let mut backoff = crate::mux::Backoff::default();
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                backoff.reset();
                let _ = stream.set_nodelay(true);
                let server = server.clone();
                tokio::spawn(async move {
                    serve_connect_stream(&server, stream, addr.to_string(), head_timeout).await
                });
            }
            Err(e) => backoff.wait(&e).await,
        }
    }
}
