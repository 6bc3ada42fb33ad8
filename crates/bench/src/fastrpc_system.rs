//! fastrpc over TCP: `Echo.Echo` (raw bytes, serialize type none) and `Hello.Say` (protobuf).

use crate::message::{BenchmarkMessage, reply_to};
use bytes::Bytes;
use fastrpc_codec::{Proto, Raw};
use fastrpc_server::{Context, Server, ServiceError};
use std::net::SocketAddr;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `addr` and serves both methods with the default server options.
pub async fn serve(addr: &str) -> anyhow::Result<SocketAddr> {
    let server = Server::builder()
        .handler("Echo", "Echo", |_ctx: Context, req: Raw| async move {
            Ok::<_, ServiceError>(req)
        })
        .handler(
            "Hello",
            "Say",
            |_ctx: Context, req: Proto<BenchmarkMessage>| async move {
                Ok::<_, ServiceError>(Proto(reply_to(req.0)))
            },
        )
        .build();
    let handle = server.serve_tcp(addr).await?;
    let local = handle
        .socket_addr()
        .ok_or_else(|| std::io::Error::other("a TCP listener without an IP address"))?;
    // The handle lives as long as the runtime.
    tokio::spawn(async move {
        let _handle = handle;
        std::future::pending::<()>().await
    });
    Ok(local)
}

/// One multiplexed fastrpc connection. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client(fastrpc_client::Client);

impl Client {
    /// Connects with the default client options, except a connect timeout of 10 s instead of
    /// Go's 1 s: thousands of connections opened on a loaded machine take longer (tarpc and
    /// tonic wait without a limit).
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        let opts = fastrpc_client::ClientOptions::default().connect_timeout(CONNECT_TIMEOUT);
        Ok(Client(
            fastrpc_client::Client::connect_with(&addr.to_string(), opts).await?,
        ))
    }

    /// Calls `Echo.Echo` with raw bytes.
    pub async fn echo(&mut self, payload: &Bytes) -> anyhow::Result<Bytes> {
        let reply: Raw = self.0.call("Echo", "Echo", &Raw(payload.clone())).await?;
        Ok(reply.0)
    }

    /// Calls `Hello.Say` with the protobuf message.
    pub async fn say(&mut self, msg: &Proto<BenchmarkMessage>) -> anyhow::Result<BenchmarkMessage> {
        let reply: Proto<BenchmarkMessage> = self.0.call("Hello", "Say", msg).await?;
        Ok(reply.0)
    }
}
