//! The alias plugin: `Arith.Mul` also served as `Calc.Times`, as rpcx's alias plugin does.
//! Needs no external service.
//!
//!     cargo run -p fastrpc --features alias --example alias

use fastrpc::plugins::alias::{ALIAS_APPLIED_KEY, AliasPlugin};
use fastrpc::{Call, CallOptions, Client, Context, Server, ServiceError};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .handler(
            "Arith",
            "Mul",
            |ctx: Context, args: (i64, i64)| async move {
                // Set when the caller used an alias.
                let via_alias = ctx.metadata().get(ALIAS_APPLIED_KEY) == Some("true");
                println!("Arith.Mul called (through an alias: {via_alias})");
                Ok::<_, ServiceError>(args.0 * args.1)
            },
        )
        .plugin(AliasPlugin::new().alias("Calc", "Times", "Arith", "Mul"))
        .build();
    let running = server.serve_tcp("127.0.0.1:0").await?;

    let client = Client::connect(running.addr()).await?;
    for (service, method) in [("Arith", "Mul"), ("Calc", "Times")] {
        let reply = client
            .invoke::<_, i64>(service, method, &(6, 7), CallOptions::default())
            .await?;
        println!("{service}.{method}(6, 7) = {}", reply.value);
    }
    running.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
