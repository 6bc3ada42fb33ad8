//! A server that publishes `Arith` and `Echo` in a registry chosen by a URL, so the same binary
//! runs against etcd, ZooKeeper, Consul, Redis or mDNS (whichever features are compiled in):
//!
//!     FASTRPC_REGISTRY=etcd://127.0.0.1:2379/rpcx_test \
//!       cargo run --example registry_server --features etcd -- --addr 127.0.0.1:8972
//!
//! The registry URL comes from `--registry URL` or `FASTRPC_REGISTRY`; the address
//! published is `tcp@ADDR` (`--advertise tcp@host:port` overrides it). Go rpcx clients using
//! the same registry and base path find this server. Ctrl-C unregisters, then drains.

#[path = "common/arith.rs"]
mod arith;

use fastrpc::registry::{self, RegistrarPlugin};
use std::time::Duration;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let url = flag("--registry")
        .or_else(|| std::env::var("FASTRPC_REGISTRY").ok())
        .ok_or("give the registry URL with --registry URL or FASTRPC_REGISTRY")?;
    let addr = flag("--addr").unwrap_or_else(|| "127.0.0.1:8972".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let key = flag("--advertise").unwrap_or(format!("tcp@{}", listener.local_addr()?));

    let registrar = registry::from_url(&url).await?;
    let server = arith::builder()
        .plugin(RegistrarPlugin::from_arc(registrar, key.clone()))
        .build();
    let running = server.serve_listener(listener)?;
    println!("serving Arith and Echo at {key}, registered in {url} (Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    println!("unregistering, then draining calls in flight (5 s at most)");
    running.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
