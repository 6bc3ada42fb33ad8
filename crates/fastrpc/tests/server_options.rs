//! Server timeouts, the per-connection in-flight cap, and plugin hooks.

mod support;

use bytes::Bytes;
use fastrpc::protocol::{Message, ProtocolError};
use fastrpc::server::{Connection, HandlerResult, PluginError, ServerPlugin};
use fastrpc::{Client, Context, Raw, Server, ServerOptions, ServiceError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

fn echo() -> fastrpc::server::ServerBuilder {
    Server::builder().handler("Echo", "Echo", |_c: Context, p: Raw| async move {
        Ok::<_, ServiceError>(p)
    })
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let _panics = support::panics::guard();
    let srv = echo()
        .options(ServerOptions::default().idle_timeout(Duration::from_millis(100)))
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(&b"x"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"x");
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("closed when idle");
}

#[tokio::test]
async fn read_timeout_drops_a_slow_partial_frame() {
    let _panics = support::panics::guard();
    let srv = echo()
        .options(ServerOptions::default().read_timeout(Duration::from_millis(100)))
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let mut c = RawConn::connect(srv.socket_addr().unwrap()).await;
    let frame = Message::request("Echo", "Echo").to_bytes().unwrap();
    c.send(&frame[..10]).await; // and never the rest
    assert!(c.closed_by_server().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_per_connection_are_capped() {
    let _panics = support::panics::guard();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, p) = (running.clone(), peak.clone());
    let server = Server::builder()
        .options(ServerOptions::default().max_concurrent_requests(3))
        .handler("Slow", "Work", move |_c: Context, ms: u64| {
            let (r, p) = (r.clone(), p.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ServiceError>(ms)
            }
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.call::<_, u64>("Slow", "Work", &20u64).await })
        })
        .collect();
    for c in calls {
        assert_eq!(
            c.await.unwrap().unwrap(),
            20,
            "every call completes (backpressure, not rejection)"
        );
    }
    assert_eq!(peak.load(Ordering::SeqCst), 3);
}

/// Records the order of hooks, rate-limits requests whose metadata asks for it, and refuses
/// connections after `refuse_after` accepts.
#[derive(Clone, Default)]
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    accepted: Arc<AtomicUsize>,
    refuse_after: usize,
}

impl Recorder {
    fn push(&self, s: impl Into<String>) {
        self.log.lock().unwrap().push(s.into());
    }
}

impl ServerPlugin for Recorder {
    fn register(&self, service: &str, metadata: &str) -> Result<(), String> {
        self.push(format!("register {service} {metadata}"));
        Ok(())
    }
    fn unregister(&self, service: &str) -> Result<(), String> {
        self.push(format!("unregister {service}"));
        Ok(())
    }
    fn post_conn_accept(&self, _c: &Connection) -> bool {
        self.accepted.fetch_add(1, Ordering::SeqCst) < self.refuse_after
    }
    fn post_read_request(
        &self,
        _c: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        match msg {
            Ok(m) if m.metadata.get("limit") == Some("yes") => Err(PluginError::RateLimited),
            Ok(m) if m.metadata.get("close") == Some("yes") => {
                Err(PluginError::Close("asked to".into()))
            }
            Ok(m) => {
                self.push(format!("read {}", m.service_method));
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }
    fn heartbeat_request(&self, _c: &Connection, _m: &Message) {
        self.push("heartbeat");
    }
    fn pre_handle_request(&self, ctx: &Context) -> Result<(), ServiceError> {
        self.push(format!("pre_handle {}", ctx.service_method()));
        Ok(())
    }
    fn pre_call(&self, ctx: &Context, _p: &Bytes) -> Result<(), ServiceError> {
        self.push(format!("pre_call {}", ctx.service_method()));
        if ctx.service_method() == "Forbidden" {
            Err(ServiceError::new("forbidden by plugin"))
        } else {
            Ok(())
        }
    }
    fn post_call(&self, ctx: &Context, r: &HandlerResult) {
        self.push(format!(
            "post_call {} ok={}",
            ctx.service_method(),
            r.is_ok()
        ));
    }
    fn pre_write_response(&self, ctx: &Context, _m: &Message) {
        self.push(format!("pre_write {}", ctx.service_method()));
    }
    fn post_write_response(&self, ctx: &Context, _m: &Message) {
        self.push(format!("post_write {}", ctx.service_method()));
    }
}

#[tokio::test]
async fn plugin_hooks_run_in_rpcx_order() {
    let _panics = support::panics::guard();
    let rec = Recorder {
        refuse_after: 100,
        ..Recorder::default()
    };
    let server = Server::builder()
        .handler("Svc", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .handler("Svc", "Forbidden", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(rec.clone())
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let _: Raw = client.call("Svc", "Echo", &Raw::default()).await.unwrap();
    let e = client
        .call::<_, Raw>("Svc", "Forbidden", &Raw::default())
        .await
        .unwrap_err();
    assert_eq!(e.as_service_error().unwrap().message, "forbidden by plugin");
    client
        .send_raw(Message::heartbeat(0, 1), None)
        .await
        .unwrap();
    srv.shutdown(Duration::from_secs(1)).await;
    let log = rec.log.lock().unwrap().clone();
    assert_eq!(
        log,
        vec![
            "register Svc ",
            "read Echo",
            "pre_handle Echo",
            "pre_call Echo",
            "post_call Echo ok=true",
            "pre_write Echo",
            "post_write Echo",
            "read Forbidden",
            "pre_handle Forbidden",
            "pre_call Forbidden",
            "post_call Forbidden ok=false",
            "pre_write Forbidden",
            "post_write Forbidden",
            "read ",
            "heartbeat",
            "unregister Svc",
        ]
    );
}

#[tokio::test]
async fn rate_limit_and_close_from_plugins() {
    let _panics = support::panics::guard();
    let rec = Recorder {
        refuse_after: 2,
        ..Recorder::default()
    };
    let srv = echo()
        .plugin(rec.clone())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let addr = srv.local_addr().to_string();
    let client = Client::connect(&addr).await.unwrap();
    let limited = fastrpc::CallOptions::default().meta("limit", "yes");
    let e = client
        .call_with::<_, Raw>("Echo", "Echo", &Raw::default(), limited)
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error().unwrap().message,
        "request reached rate limit"
    );
    // The connection survives a rate-limited request.
    let _: Raw = client.call("Echo", "Echo", &Raw::default()).await.unwrap();
    // A plugin can close the connection.
    let closing = fastrpc::CallOptions::default().meta("close", "yes");
    let e = client
        .call_with::<_, Raw>("Echo", "Echo", &Raw::default(), closing)
        .await
        .unwrap_err();
    assert!(
        matches!(e, fastrpc::ClientError::ConnectionClosed(_)),
        "{e}"
    );
    // The second connection is accepted, the third refused by post_conn_accept.
    let second = Client::connect(&addr).await.unwrap();
    let _: Raw = second.call("Echo", "Echo", &Raw::default()).await.unwrap();
    let third = Client::connect(&addr).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), third.closed())
        .await
        .unwrap();
}

#[tokio::test]
async fn write_timeout_drops_a_peer_that_does_not_read() {
    let _panics = support::panics::guard();
    let server = Server::builder()
        .options(ServerOptions::default().write_timeout(Duration::from_millis(200)))
        .handler("Big", "Get", |_c: Context, ask: Raw| async move {
            // Asked with a payload: a reply far larger than any socket buffers (64 MiB), for
            // the peer that never reads. Without one: a small reply.
            let len = if ask.is_empty() { 1024 } else { 64 << 20 };
            Ok::<_, ServiceError>(Raw::from(vec![7u8; len]))
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let mut c = RawConn::connect(srv.socket_addr().unwrap()).await;
    let mut req = Message::request("Big", "Get");
    req.header.seq = 1;
    req.payload = bytes::Bytes::from_static(b"big");
    c.send_msg(&req).await;
    // The server's connection count drops once its write times out.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    tokio::time::sleep(Duration::from_millis(100)).await;
    while !srv.server().connections().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "connection still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Others are served as usual.
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let r: Raw = client.call("Big", "Get", &Raw::default()).await.unwrap();
    assert_eq!(r.len(), 1024);
}
