//! A standalone server offering rpcx's classic `Arith` (`Mul`, `Add`, `Error`) and `Echo.Echo`,
//! usable from Go rpcx clients, on every `network@addr` given (one server, one shutdown):
//!
//!     cargo run --example server -- 127.0.0.1:8972
//!     cargo run --example server --features quic,kcp,ws,http -- tcp@127.0.0.1:8972 \
//!         unix@/tmp/arith.sock quic@127.0.0.1:8973 kcp@127.0.0.1:8974 ws@127.0.0.1:8975 \
//!         http@127.0.0.1:8976
//!
//! QUIC, `wss@` and `tls@` (features `quic`, `ws`, `tls`) use the development certificate
//! (self-signed, made at start: examples only); KCP uses
//! rpcx's example AES key, as Go rpcx's KCP examples do.
//!
//! With `--features mimalloc`, the server runs on mimalloc instead of the system allocator.

#[path = "common/arith.rs"]
mod arith;

use std::time::Duration;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: fastrpc::alloc::MiMalloc = fastrpc::alloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut addrs: Vec<String> = std::env::args().skip(1).collect();
    if addrs.is_empty() {
        addrs.push("tcp@127.0.0.1:8972".to_owned());
    }
    #[cfg(feature = "quic")]
    fastrpc::transport::network::quic::use_development_tls()?;
    #[cfg(feature = "ws")]
    fastrpc::transport::network::ws::use_development_tls()?;
    #[cfg(feature = "tls")]
    fastrpc::tls::use_development_tls()?;
    let server = arith::server();
    let mut running = Vec::new();
    for addr in &addrs {
        let handle = server.serve(addr).await?;
        println!("serving Arith and Echo on {}", handle.addr());
        running.push(handle);
    }
    println!("(Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    println!("shutting down: draining calls in flight and writing their replies (5 s at most)");
    // One shutdown for every address the server serves.
    let report = server.shutdown_report(Duration::from_secs(5)).await;
    drop(running);
    if report.is_complete() {
        println!("every call finished and every reply was written");
    } else {
        println!(
            "deadline passed: calls drained: {}, replies flushed: {}",
            report.drained, report.flushed
        );
    }
    Ok(())
}
