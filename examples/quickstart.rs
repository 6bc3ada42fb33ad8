//! A server and a client in one process over TCP on 127.0.0.1: calls `Arith.Mul` through the
//! typed client `#[fastrpc::service]` generates, and prints the result. Needs no external
//! service.
//!
//!     cargo run --example quickstart

#[path = "common/arith.rs"]
mod arith;

use arith::{Args, ArithClient};
use fastrpc::{CallOptions, Client, ErrorKind, SerializeType};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Serve Arith and Echo on an ephemeral loopback port.
    let running = arith::server().serve_tcp("127.0.0.1:0").await?;
    let addr = running.local_addr();
    println!("server listening on tcp@{addr}");

    // One multiplexed connection (MessagePack by default, like Go rpcx clients), and the
    // typed client of the Arith service over it.
    let client = Client::connect(&format!("tcp@{addr}")).await?;
    let arith = ArithClient::new(client.clone());
    let args = Args { a: 7, b: 8 };
    let reply = arith.mul(&args).await?;
    println!("Arith.Mul({} * {}) = {}", args.a, args.b, reply.c);

    // Per-call options: the same service in JSON, with a deadline.
    let opts = CallOptions::default()
        .serialize_type(SerializeType::JSON)
        .timeout(Duration::from_secs(2));
    let reply = arith.add_with(&args, opts).await?;
    println!(
        "Arith.Add({} + {}) = {} (json)",
        args.a, args.b, reply.value.c
    );

    // Errors say what went wrong; the service's reply travels with its error.
    match arith.error(&args).await {
        Err(e) if e.kind() == ErrorKind::Remote => println!("Arith.Error -> error reply: {e}"),
        Err(e) => println!("Arith.Error -> {:?}: {e}", e.kind()),
        Ok(r) => println!("Arith.Error unexpectedly returned {r:?}"),
    }
    // The string-named call stays, for dynamic use.
    let e = client
        .call::<Args, arith::Reply>("Arith", "Nope", &args)
        .await
        .unwrap_err();
    println!("Arith.Nope -> {:?}: {e}", e.kind());

    drop((arith, client));
    running.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
