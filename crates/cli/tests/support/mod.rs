//! A real fastrpc server on 127.0.0.1, run on its own runtime while a test drives the
//! `fastrpc` binary as a process.

#![allow(dead_code, unreachable_pub)]

pub mod ui;

use assert_cmd::Command;
use fastrpc::{Context, Raw, Server, ServerHandle, ServiceError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Go rpcx's example arguments.
#[derive(Debug, Serialize, Deserialize)]
pub struct Args {
    /// A.
    #[serde(rename = "A")]
    pub a: i64,
    /// B.
    #[serde(rename = "B")]
    pub b: i64,
}

/// Go rpcx's example reply.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    /// C.
    #[serde(rename = "C")]
    pub c: i64,
}

/// A running test server; stops when dropped.
pub struct TestServer {
    rt: tokio::runtime::Runtime,
    handle: Option<ServerHandle>,
    /// `tcp@127.0.0.1:port`.
    pub addr: String,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rt.block_on(h.shutdown(Duration::from_secs(1)));
        }
    }
}

/// The services the tests call: `Arith.Mul` (JSON/MessagePack), `Arith.Fail` (an error
/// reply), `Echo.Echo` (raw bytes back, reply metadata `echo` = request metadata `trace`),
/// `Slow.Sleep` (sleeps its argument in milliseconds).
pub fn server() -> TestServer {
    server_with(|b| b)
}

/// [`server`] with the builder adjusted (auth, ...).
pub fn server_with(
    adjust: impl FnOnce(fastrpc::server::ServerBuilder) -> fastrpc::server::ServerBuilder,
) -> TestServer {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let builder = Server::builder()
        .handler("Arith", "Mul", |_c: Context, a: Args| async move {
            Ok::<_, ServiceError>(Reply { c: a.a * a.b })
        })
        .handler("Arith", "Fail", |_c: Context, _a: Args| async move {
            Err::<Reply, _>(ServiceError::new("divide by zero, on purpose"))
        })
        .handler("Echo", "Echo", |ctx: Context, p: Raw| async move {
            ctx.set_response_metadata("echo", ctx.metadata().get("trace").unwrap_or("-"));
            Ok::<_, ServiceError>(p)
        })
        .handler("Slow", "Sleep", |_c: Context, ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ServiceError>(ms)
        });
    let server = adjust(builder).build();
    let handle = rt.block_on(server.serve_tcp("127.0.0.1:0")).unwrap();
    let addr = format!("tcp@{}", handle.local_addr());
    TestServer {
        rt,
        handle: Some(handle),
        addr,
    }
}

/// The `fastrpc` binary, with a generous overall timeout.
pub fn fastrpc() -> Command {
    let mut cmd = Command::cargo_bin("fastrpc").unwrap();
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// Runs the command, asserts success, parses stdout as JSON.
pub fn json_ok(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// An address nothing listens on.
pub fn dead_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("tcp@{addr}")
}
