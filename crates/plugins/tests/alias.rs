//! The alias plugin over real sockets: an aliased call reaches the real method with
//! `__aliasAppliedKey=true`, its reply names the alias, and other calls are untouched.

#![cfg(feature = "alias")]

use bytes::BytesMut;
use fastrpc_client::{Call, CallOptions, Client};
use fastrpc_codec::Raw;
use fastrpc_core::{FrameDecoder, Limits, Message, SerializeType};
use fastrpc_plugins::alias::{ALIAS_APPLIED_KEY, AliasPlugin};
use fastrpc_server::{Context, Server, ServerHandle, ServiceError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server whose `Arith.Mul` answers `mul:<alias applied?>:<payload>`, served as `Calc.Times`
/// too.
async fn serve() -> ServerHandle {
    Server::builder()
        .handler("Arith", "Mul", |ctx: Context, p: Raw| async move {
            let applied = ctx
                .metadata()
                .get(ALIAS_APPLIED_KEY)
                .unwrap_or("-")
                .to_owned();
            let mut out = format!("mul:{applied}:").into_bytes();
            out.extend_from_slice(&p);
            Ok::<_, ServiceError>(Raw::from(out))
        })
        .plugin(AliasPlugin::new().alias("Calc", "Times", "Arith", "Mul"))
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap()
}

/// Sends one raw request and reads its reply frame, to see the names the reply carries.
async fn raw_call(srv: &ServerHandle, path: &str, method: &str) -> Message {
    let mut sock = tokio::net::TcpStream::connect(srv.socket_addr().unwrap())
        .await
        .unwrap();
    let mut req = Message::request(path.to_owned(), method.to_owned());
    req.header.seq = 7;
    req.header.set_serialize_type(SerializeType::NONE);
    req.payload = bytes::Bytes::from_static(b"x");
    sock.write_all(&req.to_bytes().unwrap()).await.unwrap();
    let mut decoder = FrameDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    loop {
        if let Some(reply) = decoder.decode(&mut buf).unwrap() {
            return reply;
        }
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), sock.read_buf(&mut buf))
            .await
            .expect("reply within 30 s")
            .unwrap();
        assert!(n > 0, "server closed before replying");
    }
}

#[tokio::test]
async fn aliased_call_reaches_the_real_method_and_the_reply_names_the_alias() {
    let srv = serve().await;
    let reply = raw_call(&srv, "Calc", "Times").await;
    assert_eq!(reply.error_text(), None);
    assert_eq!(&reply.payload[..], b"mul:true:x");
    assert_eq!(&*reply.service_path, "Calc");
    assert_eq!(&*reply.service_method, "Times");
    assert_eq!(reply.header.seq, 7);

    // The same through a client.
    let client = Client::connect(srv.addr()).await.unwrap();
    let reply = client
        .invoke::<Raw, Raw>(
            "Calc",
            "Times",
            &Raw::from(&b"y"[..]),
            CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(&reply.value[..], b"mul:true:y");
    srv.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unaliased_calls_are_untouched() {
    let srv = serve().await;
    let reply = raw_call(&srv, "Arith", "Mul").await;
    assert_eq!(&reply.payload[..], b"mul:-:x");
    assert_eq!(&*reply.service_path, "Arith");
    assert_eq!(&*reply.service_method, "Mul");

    // An alias of another method of the same service does not exist.
    let reply = raw_call(&srv, "Calc", "Plus").await;
    assert_eq!(
        reply.error_text(),
        Some(fastrpc_core::errors::cant_find_service("Calc").as_str())
    );
    assert_eq!(&*reply.service_path, "Calc");
    srv.shutdown(std::time::Duration::from_secs(5)).await;
}

/// Counts `rewrite_request` calls; asks for them only when `opt_in`.
struct CountingRewriter {
    opt_in: bool,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl fastrpc_server::ServerPlugin for CountingRewriter {
    fn rewrites_requests(&self) -> bool {
        self.opt_in
    }

    fn rewrite_request(&self, _conn: &fastrpc_server::Connection, _msg: &mut Message) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[tokio::test]
async fn the_rewrite_hook_runs_only_for_plugins_that_ask() {
    use std::sync::atomic::Ordering;
    let asked = std::sync::Arc::default();
    let silent = std::sync::Arc::default();
    let srv = Server::builder()
        .handler("Arith", "Mul", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(CountingRewriter {
            opt_in: true,
            calls: std::sync::Arc::clone(&asked),
        })
        .plugin(CountingRewriter {
            opt_in: false,
            calls: std::sync::Arc::clone(&silent),
        })
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    for _ in 0..3 {
        let reply = raw_call(&srv, "Arith", "Mul").await;
        assert_eq!(&reply.payload[..], b"x");
    }
    let asked: &std::sync::atomic::AtomicUsize = &asked;
    let silent: &std::sync::atomic::AtomicUsize = &silent;
    assert_eq!(asked.load(Ordering::Relaxed), 3);
    assert_eq!(silent.load(Ordering::Relaxed), 0);
    // An alias plugin without aliases does not ask.
    assert!(!fastrpc_server::ServerPlugin::rewrites_requests(
        &AliasPlugin::new()
    ));
    srv.shutdown(std::time::Duration::from_secs(5)).await;
}
