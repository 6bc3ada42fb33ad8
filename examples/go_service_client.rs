//! A typed client for a Go rpcx service, declared by hand: no Rust server, only a trait with
//! the Go method names. Run a Go rpcx server offering rpcx's classic `Arith` example service
//! (or `cargo run --example server`), then:
//!
//!     cargo run --example go_service_client -- tcp@127.0.0.1:8972

use fastrpc::xclient::Peer2PeerDiscovery;
use fastrpc::{CallOptions, Client, ErrorKind, FailMode, SelectMode, XClient, XClientOptions};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Go: `type Args struct { A int; B int }` (vmihailenco msgpack and encoding/json both key
/// fields by their Go names).
#[derive(Debug, Serialize, Deserialize)]
struct Args {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
}

/// Go: `type Reply struct { C int }`.
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    #[serde(rename = "C")]
    c: i64,
}

/// Go's `Arith` service. Each method is `func (t *Arith) Mul(ctx, args *Args, reply *Reply)
/// error` on the Go side; here only the name, the argument and the reply matter. Rust names in
/// snake case map to Go's (`mul` is `Mul`); `#[rpc(name = "..")]` spells out any other.
#[fastrpc::service]
trait Arith {
    /// `C = A * B`.
    async fn mul(&self, args: Args) -> Reply;
    /// `C = A + B`.
    async fn add(&self, args: Args) -> Reply;
    /// Always fails.
    #[rpc(name = "Error")]
    async fn fail(&self, args: Args) -> Reply;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp@127.0.0.1:8972".to_owned());

    // Over one connection.
    let arith = ArithClient::new(Client::connect(&addr).await?);
    let reply = arith.mul(&Args { a: 7, b: 8 }).await?;
    println!(
        "{}.{}: 7 * 8 = {}",
        ArithClient::<Client>::SERVICE,
        ArithClient::<Client>::MUL,
        reply.c
    );
    let reply = arith
        .add_with(
            &Args { a: 7, b: 8 },
            CallOptions::default().timeout(Duration::from_secs(1)),
        )
        .await?;
    println!(
        "Arith.Add: 7 + 8 = {} (metadata {:?})",
        reply.value.c, reply.metadata
    );
    match arith.fail(&Args { a: 1, b: 2 }).await {
        Err(e) if e.kind() == ErrorKind::Remote => println!("Arith.Error: the service said {e}"),
        Err(e) => println!("Arith.Error: {:?}: {e}", e.kind()),
        Ok(r) => println!("Arith.Error returned {r:?}"),
    }

    // The same typed client over an XClient (discovery, fail modes, breakers).
    let discovery = Peer2PeerDiscovery::new(addr, "");
    let xclient = XClient::new(
        "Arith",
        FailMode::Failover,
        SelectMode::RoundRobin,
        Arc::new(discovery),
        XClientOptions::default(),
    )?;
    let arith = ArithClient::new(xclient);
    println!(
        "via XClient: 6 * 7 = {}",
        arith.mul(&Args { a: 6, b: 7 }).await?.c
    );
    Ok(())
}
