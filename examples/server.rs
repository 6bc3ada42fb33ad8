//! A standalone server offering rpcx's classic `Arith` (`Mul`, `Add`, `Error`) and `Echo.Echo`,
//! usable from Go rpcx clients.
//!
//!     cargo run --example server -- 127.0.0.1:8972
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
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8972".to_owned());
    let addr = addr.strip_prefix("tcp@").unwrap_or(&addr).to_owned();
    let running = arith::server().serve_tcp(&addr).await?;
    println!(
        "serving Arith and Echo on tcp@{} (Ctrl-C to stop)",
        running.local_addr()
    );
    tokio::signal::ctrl_c().await?;
    println!("shutting down: draining calls in flight and writing their replies (5 s at most)");
    let report = running.shutdown_report(Duration::from_secs(5)).await;
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
