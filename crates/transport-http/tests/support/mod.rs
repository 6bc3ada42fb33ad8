//! A real fastrpc server behind a real port shared by rpcx and HTTP, and a real HTTP/1 client.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use fastrpc_server::{Context, Raw, Server, ServiceError};
use fastrpc_transport_http::{Gateway, HttpOptions};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Generous: the machine is shared and loaded.
pub const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Serialize, Deserialize, Default)]
#[allow(non_snake_case)]
pub struct Args {
    pub A: i64,
    pub B: i64,
}

#[derive(Serialize, Deserialize)]
#[allow(non_snake_case)]
pub struct Reply {
    pub C: i64,
}

pub struct Running {
    pub addr: SocketAddr,
    pub gateway: Gateway,
    pub server: Server,
    /// Calls of `Count.Hit` so far.
    pub hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The test services. Auth refuses the token `bad` and accepts anything else.
pub fn server(hits: Arc<AtomicUsize>) -> Server {
    Server::builder()
        .handler("Arith", "Mul", |_ctx: Context, a: Args| async move {
            Ok::<_, ServiceError>(Reply { C: a.A * a.B })
        })
        .handler("Arith", "Fail", |_ctx: Context, _a: Args| async move {
            Err::<Reply, _>(ServiceError::new("division by zero"))
        })
        .handler("Echo", "Echo", |_ctx: Context, r: Raw| async move {
            Ok::<_, ServiceError>(r)
        })
        .handler("Meta", "Get", |ctx: Context, key: String| async move {
            ctx.set_response_metadata("seen", "yes & more");
            Ok::<_, ServiceError>(ctx.metadata().get(&key).unwrap_or("").to_owned())
        })
        .handler("Slow", "Wait", |_ctx: Context, ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ServiceError>(ms)
        })
        .handler(
            "Null",
            "Args",
            |_ctx: Context, v: serde_json::Value| async move {
                Ok::<_, ServiceError>(serde_json::json!({ "got": v }))
            },
        )
        .handler(
            "Count",
            "Hit",
            move |_ctx: Context, _v: serde_json::Value| {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ServiceError>(serde_json::Value::Null)
                }
            },
        )
        .auth(|_msg, token| {
            if token == "bad" {
                Err("auth: invalid token".to_owned())
            } else {
                Ok(())
            }
        })
        .build()
}

/// Serves the test services with `opts` on a shared port of 127.0.0.1.
pub async fn start(opts: HttpOptions) -> Running {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = server(hits.clone());
    let gateway = Gateway::new(server.clone(), opts);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let g = gateway.clone();
    let task = tokio::spawn(async move { g.serve(listener).await });
    Running {
        addr,
        gateway,
        server,
        hits,
        task,
    }
}

/// One answer as the client saw it.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A keep-alive HTTP/1 client connection (hyper).
pub struct Http {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

impl Http {
    pub async fn connect(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        Http { sender, addr }
    }

    /// Sends `method path` with `headers` and `body`.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).unwrap();
        // The previous answer on this keep-alive connection must be finished first.
        self.sender.ready().await.unwrap();
        let res = tokio::time::timeout(PATIENCE, self.sender.send_request(req))
            .await
            .expect("answer in time")
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// One request on a fresh connection.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    Http::connect(addr)
        .await
        .send(method, path, headers, body)
        .await
}

/// The usual `Arith.Mul` gateway call.
pub async fn mul(addr: SocketAddr, a: i64, b: i64) -> Answer {
    send(
        addr,
        "POST",
        "/Arith",
        &[
            ("X-RPCX-SerializeType", "1"),
            ("X-RPCX-ServiceMethod", "Mul"),
            ("X-RPCX-MessageID", "1"),
        ],
        format!(r#"{{"A":{a},"B":{b}}}"#),
    )
    .await
}

/// Waits until `cond` holds (polling), or fails after [`PATIENCE`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
