//! A server and a client in one process over TCP on 127.0.0.1: calls `Arith.Mul` and prints
//! the result. Needs no external service.
//!
//!     cargo run --example quickstart

#[path = "common/arith.rs"]
mod arith;

use arith::{Args, Reply};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Serve Arith and Echo on an ephemeral loopback port.
    let running = arith::server().serve_tcp("127.0.0.1:0").await?;
    let addr = running.local_addr();
    println!("server listening on tcp@{addr}");

    // One multiplexed connection; MessagePack by default, like Go rpcx clients.
    let client = fastrpc::Client::connect(&format!("tcp@{addr}")).await?;
    let args = Args { a: 7, b: 8 };
    let reply: Reply = client.call("Arith", "Mul", &args).await?;
    println!("Arith.Mul({} * {}) = {}", args.a, args.b, reply.c);

    // The same call as JSON, and an error reply.
    let opts = fastrpc::CallOptions::default().serialize_type(fastrpc::SerializeType::JSON);
    let reply: fastrpc::client::Reply<Reply> =
        client.call_with("Arith", "Add", &args, opts).await?;
    println!(
        "Arith.Add({} + {}) = {} (json)",
        args.a, args.b, reply.value.c
    );
    match client.call::<Args, Reply>("Arith", "Error", &args).await {
        Err(e) => println!("Arith.Error -> error reply: {e}"),
        Ok(r) => println!("Arith.Error unexpectedly returned {r:?}"),
    }

    drop(client);
    running.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
