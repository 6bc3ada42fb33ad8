//! A standalone client that calls `Arith.Mul`, `Arith.Add`, `Arith.Error` and `Echo.Echo` on
//! the server at the given address (a fastrpc or Go rpcx server).
//!
//!     cargo run --example client -- tcp@127.0.0.1:8972 [json|msgpack|protobuf|thrift]
//!
//! Any `network@addr` works (`unix@/tmp/arith.sock`, `memu@...` in-process only, and with their
//! features `quic@`, `kcp@`, `ws@`, `wss@`, `http@`, `tls@`). QUIC, wss and TLS dial in the
//! development mode (the server's certificate is not checked, as Go rpcx's examples do):
//! examples only.
//!
//! `thrift` needs the facade's `thrift` feature (`--features thrift`), on the server too.

#[path = "common/arith.rs"]
mod arith;

use arith::{Args, Reply};
use fastrpc::{CallOptions, Client, Raw, SerializeType};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp@127.0.0.1:8972".to_owned());
    let st = match std::env::args().nth(2).as_deref() {
        Some("json") => SerializeType::JSON,
        None | Some("msgpack") => SerializeType::MSGPACK,
        Some("protobuf") => SerializeType::PROTOBUF,
        Some("thrift") => SerializeType::THRIFT,
        Some(other) => return Err(format!("unknown serialize type {other}").into()),
    };
    #[cfg(feature = "quic")]
    fastrpc::transport::network::quic::use_development_tls()?;
    #[cfg(feature = "ws")]
    fastrpc::transport::network::ws::use_development_tls()?;
    #[cfg(feature = "tls")]
    fastrpc::tls::use_development_tls()?;
    let client = Client::connect(&addr).await?;
    let args = Args { a: 10, b: 20 };
    let opts = || CallOptions::default().serialize_type(st);

    let mul: fastrpc::client::Reply<Reply> =
        client.call_with("Arith", "Mul", &args, opts()).await?;
    println!(
        "Arith.Mul {{A:10, B:20}} = {} (metadata {:?})",
        mul.value.c, mul.metadata
    );
    let add: fastrpc::client::Reply<Reply> =
        client.call_with("Arith", "Add", &args, opts()).await?;
    println!("Arith.Add {{A:10, B:20}} = {}", add.value.c);
    match client
        .call_with::<Args, Reply>("Arith", "Error", &args, opts())
        .await
    {
        Err(e) => println!("Arith.Error -> {e}"),
        Ok(r) => println!("Arith.Error unexpectedly returned {:?}", r.value),
    }
    let echo: Raw = client
        .call(
            "Echo",
            "Echo",
            &Raw::from(vec![0x00, 0xff, 0x08, 0x80, 0x01, 0xfe]),
        )
        .await?;
    println!("Echo.Echo -> {:02x?}", &echo[..]);
    Ok(())
}
