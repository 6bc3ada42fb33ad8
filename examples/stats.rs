//! `Server::stats()` and `Client::stats()`: the counters fastrpc keeps without any metrics
//! exporter (bytes, calls, errors by kind, connections), as gorpc has. Needs no external
//! service.
//!
//!     cargo run -p fastrpc --example stats

use fastrpc::{Client, Context, Raw, Server, ServiceError};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .build();
    let running = server.serve_tcp("127.0.0.1:0").await?;

    let client = Client::connect(running.addr()).await?;
    for _ in 0..10 {
        let _: Raw = client
            .call("Echo", "Echo", &Raw::from(&b"hello"[..]))
            .await?;
    }
    // An unknown method: a handler error on the server, a remote error here.
    let _ = client
        .call::<Raw, Raw>("Echo", "Nope", &Raw::from(&b"?"[..]))
        .await;

    let s = server.stats();
    println!(
        "server: {} calls, {} handler errors, {} bytes read, {} written, {} open of {} accepted connections",
        s.calls,
        s.handler_errors,
        s.bytes_read,
        s.bytes_written,
        s.open_connections,
        s.accepted_connections
    );
    let c = client.stats();
    println!(
        "client: {} calls, {} bytes written, {} read, {} read errors, {} write errors",
        c.calls, c.bytes_written, c.bytes_read, c.read_errors, c.write_errors
    );
    running.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
