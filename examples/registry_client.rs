//! A client that finds `Arith` servers through a registry chosen by a URL and calls them
//! through an XClient (round robin, failover), so the same binary runs against every backend:
//!
//!     FASTRPC_REGISTRY=etcd://127.0.0.1:2379/rpcx_test \
//!       cargo run --example registry_client --features etcd -- --calls 10
//!
//! The URL comes from `--registry URL` or `FASTRPC_REGISTRY`: any registry scheme whose
//! feature is compiled in, or `static://tcp@127.0.0.1:8972`, `p2p://...`, `dns://name:port`.

#[path = "common/arith.rs"]
mod arith;

use arith::{Args, Reply};
use fastrpc::{FailMode, SelectMode, XClient, XClientOptions, discovery};
use std::time::Duration;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = flag("--registry")
        .or_else(|| std::env::var("FASTRPC_REGISTRY").ok())
        .ok_or("give the registry URL with --registry URL or FASTRPC_REGISTRY")?;
    let calls: i64 = flag("--calls")
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10);

    let discovery = discovery::from_url(&url, "Arith").await?;
    let mut servers = discovery.watch();
    // A registry may need a moment to deliver its first list.
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        servers.wait_for(|list| !list.is_empty()),
    )
    .await;
    println!("{url}: Arith is served by {:?}", discovery.servers());
    let xc = XClient::new(
        "Arith",
        FailMode::Failover,
        SelectMode::RoundRobin,
        discovery,
        XClientOptions::default(),
    )?;
    for a in 1..=calls {
        let reply: Reply = xc.call("Mul", &Args { a, b: 10 }).await?;
        println!("Arith.Mul({a}, 10) = {}", reply.c);
    }
    Ok(())
}
