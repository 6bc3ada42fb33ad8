//! The options of `#[service]` through the facade, over a real socket: `#[rpc(name = ..)]`
//! renames a method, `#[rpc(skip)]` keeps a method out of the service (it stays an ordinary
//! Rust method), `#[service(name = ..)]` renames the service, and `crate = ..` points the
//! generated code at the server crate by another path (a path or a string).

mod support;

use fastrpc::{Client, Context, Server, ServiceError};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Args {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
}

struct Calc;

#[fastrpc::service]
impl Calc {
    /// Exported as "Mul" (PascalCase of the Rust name).
    async fn mul(&self, args: Args) -> i64 {
        args.a * args.b
    }

    /// Exported as "Add", not "AddNumbers".
    #[rpc(name = "Add")]
    async fn add_numbers(&self, ctx: &Context, args: Args) -> Result<i64, ServiceError> {
        ctx.set_response_metadata("renamed", "yes");
        Ok(args.a + args.b)
    }

    /// Not exported at all.
    #[rpc(skip)]
    async fn secret(&self) -> i64 {
        42
    }
}

/// The server crate by its own name, as a crate that depends on `fastrpc-server` alone does.
struct ByCrateName;

#[fastrpc::service(crate = fastrpc_server, name = "ByCrate")]
impl ByCrateName {
    async fn ping(&self, n: i64) -> i64 {
        n + 1
    }
}

/// The server crate through a re-export, given as a string.
mod reexport {
    pub(crate) use fastrpc::server as srv;
}

struct ByString;

#[fastrpc::service(name = "ByString", crate = "reexport::srv")]
impl ByString {
    async fn ping(&self, n: i64) -> i64 {
        n + 2
    }
}

async fn serve() -> (fastrpc::server::ServerHandle, Client) {
    let srv = Server::builder()
        .service(Calc)
        .service(ByCrateName)
        .service(ByString)
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    (srv, client)
}

fn service_error(e: fastrpc::ClientError) -> String {
    e.as_service_error()
        .unwrap_or_else(|| panic!("expected a service error, got {e}"))
        .message
        .clone()
}

#[tokio::test]
async fn rpc_name_renames_the_method() {
    let _panics = support::panics::guard();
    let (_srv, client) = serve().await;
    let reply = client
        .call_with::<_, i64>(
            "Calc",
            "Add",
            &Args { a: 2, b: 3 },
            fastrpc::CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(reply.value, 5);
    assert_eq!(reply.metadata.get("renamed"), Some("yes"));
    let m: i64 = client
        .call("Calc", "Mul", &Args { a: 2, b: 3 })
        .await
        .unwrap();
    assert_eq!(m, 6);
    // The Rust name is not exported.
    let e = client
        .call::<_, i64>("Calc", "AddNumbers", &Args { a: 2, b: 3 })
        .await
        .unwrap_err();
    assert_eq!(service_error(e), "rpcx: can't find method AddNumbers");
}

#[tokio::test]
async fn rpc_skip_keeps_a_method_out_of_the_service() {
    let _panics = support::panics::guard();
    let (_srv, client) = serve().await;
    for name in ["Secret", "secret"] {
        let e = client.call::<_, i64>("Calc", name, &()).await.unwrap_err();
        assert_eq!(service_error(e), format!("rpcx: can't find method {name}"));
    }
    // It is still an ordinary method.
    assert_eq!(Calc.secret().await, 42);
}

#[tokio::test]
async fn crate_option_points_at_the_server_crate_by_any_path() {
    let _panics = support::panics::guard();
    let (srv, client) = serve().await;
    assert_eq!(
        srv.server().services(),
        ["ByCrate", "ByString", "Calc"].map(String::from)
    );
    let a: i64 = client.call("ByCrate", "Ping", &1i64).await.unwrap();
    let b: i64 = client.call("ByString", "Ping", &1i64).await.unwrap();
    assert_eq!((a, b), (2, 3));
}
