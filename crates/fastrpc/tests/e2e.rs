//! The fastrpc client against the fastrpc server over real TCP sockets.

mod support;

use bytes::Bytes;
use fastrpc::client::Reply;
use fastrpc::protocol::{CompressType, Message, ProtocolError, keys};
use fastrpc::server::{Connection, PluginError, ServerPlugin};
use fastrpc::{
    CallOptions, Client, ClientError, ClientOptions, Context, Metadata, Raw, SerializeType, Server,
    ServiceError,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

async fn go_client() -> (fastrpc::server::ServerHandle, Client) {
    let (running, _rx) = go_test_server().await;
    let client = Client::connect(&format!("tcp@{}", running.local_addr()))
        .await
        .unwrap();
    (running, client)
}

#[tokio::test]
async fn every_serialize_type() {
    let _panics = support::panics::guard();
    let (_srv, client) = go_client().await;
    for st in [
        SerializeType::JSON,
        SerializeType::MSGPACK,
        SerializeType::PROTOBUF,
    ] {
        let r: Reply<GoReply> = client
            .call_with(
                "Arith",
                "Mul",
                &GoArgs { a: 6, b: 7 },
                CallOptions::default().serialize_type(st),
            )
            .await
            .unwrap();
        assert_eq!(r.value.c, 42, "{st}");
    }
    // Raw (serialize type none) round-trips arbitrary bytes.
    let raw: Raw = client
        .call("Echo", "Echo", &Raw::from(vec![0u8, 0xff, 0x08, 0x80]))
        .await
        .unwrap();
    assert_eq!(&raw[..], &[0u8, 0xff, 0x08, 0x80]);
    // A codec the type cannot use is a typed error before anything is sent.
    let e = client
        .call_with::<_, GoReply>(
            "Arith",
            "Mul",
            &GoArgs::default(),
            CallOptions::default().serialize_type(SerializeType::THRIFT),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Codec(_)), "{e}");
}

/// Records the compress type of every request the server reads.
#[derive(Clone, Default)]
struct SeenCompress(Arc<Mutex<Vec<CompressType>>>);

impl ServerPlugin for SeenCompress {
    fn post_read_request(
        &self,
        _c: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        if let Ok(m) = msg {
            self.0.lock().unwrap().push(m.header.compress_type());
        }
        Ok(())
    }
}

#[tokio::test]
async fn gzip_below_at_and_above_the_threshold() {
    let _panics = support::panics::guard();
    let seen = SeenCompress::default();
    let server = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(seen.clone())
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect_with(
        &srv.local_addr().to_string(),
        ClientOptions::default().compress_type(CompressType::GZIP),
    )
    .await
    .unwrap();
    for len in [10usize, 1024, 1025, 100_000] {
        let payload = Raw::from((0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let back: Raw = client.call("Echo", "Echo", &payload).await.unwrap();
        assert_eq!(back, payload, "len {len}");
    }
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            CompressType::NONE,
            CompressType::NONE,
            CompressType::GZIP,
            CompressType::GZIP
        ]
    );
}

#[tokio::test]
async fn reply_compression_follows_the_request() {
    let _panics = support::panics::guard();
    let (srv, _rx) = go_test_server().await;
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let big = Raw::from(vec![b'x'; 5000]);
    // Uncompressed request: uncompressed reply even when large.
    let mut req = Message::request("Echo", "Echo");
    req.payload = big.0.clone();
    let res = client.send_raw(req.clone(), None).await.unwrap().unwrap();
    assert_eq!(res.header.compress_type(), CompressType::NONE);
    // Compressed request: compressed reply.
    req.header.set_compress_type(CompressType::GZIP);
    let res = client.send_raw(req, None).await.unwrap().unwrap();
    assert_eq!(res.header.compress_type(), CompressType::GZIP);
    assert_eq!(res.payload, big.0);
}

#[tokio::test]
async fn error_replies_with_and_without_payload() {
    let _panics = support::panics::guard();
    let (_srv, client) = go_client().await;
    let opts = CallOptions::default().serialize_type(SerializeType::JSON);
    let e = client
        .call_with::<_, GoReply>("Arith", "Error", &GoArgs { a: 1, b: 2 }, opts.clone())
        .await
        .unwrap_err();
    let se = e.as_service_error().expect("service error");
    assert_eq!(se.message, "intentional error: A=1 B=2");
    assert_eq!(&se.payload[..], br#"{"C":0}"#);
    assert!(!e.is_retryable());

    let e = client
        .call_with::<_, GoReply>("Arith", "NoSuch", &GoArgs::default(), opts.clone())
        .await
        .unwrap_err();
    let se = e.as_service_error().unwrap();
    assert_eq!(se.message, "rpcx: can't find method NoSuch");
    assert!(se.payload.is_empty());
    let e = client
        .call_with::<_, GoReply>("Nope", "Mul", &GoArgs::default(), opts)
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error().unwrap().message,
        "rpcx: can't find service Nope"
    );
    // The connection is still fine.
    let r: GoReply = client
        .call("Arith", "Add", &GoArgs { a: 2, b: 3 })
        .await
        .unwrap();
    assert_eq!(r.c, 5);
}

#[tokio::test]
async fn bad_argument_payload_is_an_error_reply() {
    let _panics = support::panics::guard();
    let (_srv, client) = go_client().await;
    let mut req = Message::request("Arith", "Mul");
    req.header.set_serialize_type(SerializeType::JSON);
    req.payload = Bytes::from_static(b"{not json");
    let res = client.send_raw(req, None).await.unwrap().unwrap();
    assert!(res.header.is_error());
    assert!(
        res.error_text().unwrap().contains("json"),
        "{:?}",
        res.error_text()
    );
}

#[tokio::test]
async fn oneway_runs_without_reply() {
    let _panics = support::panics::guard();
    let (srv, mut notified) = go_test_server().await;
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    client
        .oneway(
            "Arith",
            "Notify",
            &GoArgs { a: 9, b: 1 },
            CallOptions::default(),
        )
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), notified.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.a, 9);
}

#[tokio::test]
async fn heartbeat_is_echoed_and_client_heartbeats_keep_working() {
    let _panics = support::panics::guard();
    let (srv, _rx) = go_test_server().await;
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let hb = Message::heartbeat(0, 1_700_000_000_000_000_000);
    let echo = client.send_raw(hb.clone(), None).await.unwrap().unwrap();
    assert!(echo.header.is_heartbeat() && echo.header.is_response());
    assert_eq!(echo.payload, hb.payload);

    let opts =
        ClientOptions::default().heartbeat(Duration::from_millis(20), Duration::from_secs(2));
    let client = Client::connect_with(&srv.local_addr().to_string(), opts)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!client.is_closed());
    let r: GoReply = client
        .call("Arith", "Mul", &GoArgs { a: 3, b: 3 })
        .await
        .unwrap();
    assert_eq!(r.c, 9);
}

#[tokio::test]
async fn heartbeat_to_a_silent_server_closes_the_connection() {
    let _panics = support::panics::guard();
    // Accepts and never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut s, &mut sink).await;
    });
    let opts =
        ClientOptions::default().heartbeat(Duration::from_millis(20), Duration::from_millis(100));
    let client = Client::connect_with(&addr.to_string(), opts).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("closed after the heartbeat wait");
    let e = client
        .call::<_, GoReply>("Arith", "Mul", &GoArgs::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::ConnectionClosed(ref r) if r.contains("heartbeat")),
        "{e}"
    );
}

#[tokio::test]
async fn metadata_both_ways() {
    let _panics = support::panics::guard();
    let server = Server::builder()
        .handler("Meta", "Get", |ctx: Context, key: String| async move {
            ctx.set_response_metadata("echo", ctx.metadata().get(&key).unwrap_or("-"));
            ctx.set_response_metadata(keys::SERVICE_ERROR, "handlers cannot fake errors");
            Ok::<_, ServiceError>(format!("{}.{}", ctx.service_path(), ctx.service_method()))
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let r: Reply<String> = client
        .call_with(
            "Meta",
            "Get",
            &"trace".to_owned(),
            CallOptions::default().meta("trace", "abc-123"),
        )
        .await
        .unwrap();
    assert_eq!(r.value, "Meta.Get");
    assert_eq!(r.metadata.get("echo"), Some("abc-123"));
    assert_eq!(
        r.metadata.get(keys::SERVER_ADDRESS),
        Some(srv.local_addr().to_string().as_str())
    );
    // A success reply carries the handler's key, but status stays normal.
    assert_eq!(
        r.metadata.get(keys::SERVICE_ERROR),
        Some("handlers cannot fake errors")
    );
}

#[tokio::test]
async fn auth_success_and_failure() {
    let _panics = support::panics::guard();
    let server = Server::builder()
        .handler("Arith", "Mul", |_c: Context, a: GoArgsSerde| async move {
            Ok::<_, ServiceError>(a.a * a.b)
        })
        .auth(|_req, token| {
            if token == "s3cret" {
                Ok(())
            } else {
                Err(format!("invalid token {token:?}"))
            }
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.local_addr().to_string();

    let good = Client::connect_with(&addr, ClientOptions::default().auth("s3cret"))
        .await
        .unwrap();
    let r: i64 = good
        .call("Arith", "Mul", &GoArgsSerde { a: 4, b: 5 })
        .await
        .unwrap();
    assert_eq!(r, 20);

    let bad = Client::connect_with(&addr, ClientOptions::default().auth("wrong"))
        .await
        .unwrap();
    let e = bad
        .call::<_, i64>("Arith", "Mul", &GoArgsSerde { a: 4, b: 5 })
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error().unwrap().message,
        "invalid token \"wrong\""
    );
    // Then the server closes that connection, and only that one.
    tokio::time::timeout(Duration::from_secs(5), bad.closed())
        .await
        .unwrap();
    let r: i64 = good
        .call("Arith", "Mul", &GoArgsSerde { a: 2, b: 5 })
        .await
        .unwrap();
    assert_eq!(r, 10);
    // Heartbeats skip auth.
    let anon = Client::connect(&addr).await.unwrap();
    assert!(
        anon.send_raw(Message::heartbeat(0, 1), None)
            .await
            .unwrap()
            .unwrap()
            .header
            .is_heartbeat()
    );
}

#[derive(serde::Serialize, serde::Deserialize)]
struct GoArgsSerde {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
}

fn sleepy_server() -> Server {
    Server::builder()
        .handler("Slow", "Sleep", |ctx: Context, ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ServiceError>((ms, ctx.remaining().map(|d| d.as_millis() as u64)))
        })
        .build()
}

#[tokio::test]
async fn deadline_passes_on_the_server() {
    let _panics = support::panics::guard();
    let srv = sleepy_server().serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    // Raw request with __ServerTimeout and no client-side timeout: the server gives up.
    let mut req = Message::request("Slow", "Sleep");
    req.header.set_serialize_type(SerializeType::JSON);
    req.payload = Bytes::from_static(b"5000");
    req.metadata.insert(keys::SERVER_TIMEOUT, "50");
    let started = std::time::Instant::now();
    let res = client.send_raw(req, None).await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(res.error_text(), Some(fastrpc::server::DEADLINE_EXCEEDED));
    // The client's timeout is sent as __ServerTimeout (the time left, so a hair under 50 ms)
    // and enforced locally too: whichever fires first, the call fails as a deadline.
    let e = client
        .call_with::<_, (u64, Option<u64>)>(
            "Slow",
            "Sleep",
            &5000u64,
            CallOptions::default().timeout(Duration::from_millis(50)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fastrpc::ErrorKind::DeadlineExceeded, "{e}");
    // The handler sees the remaining time.
    let r: Reply<(u64, Option<u64>)> = client
        .call_with(
            "Slow",
            "Sleep",
            &1u64,
            CallOptions::default().timeout(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    let left = r.value.1.expect("deadline visible to the handler");
    assert!(left > 20_000 && left <= 30_000, "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_complete_out_of_order() {
    let _panics = support::panics::guard();
    let srv = sleepy_server().serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..1000u64 {
        let client = client.clone();
        let order = order.clone();
        // Earlier calls sleep longer, so replies overtake each other.
        let ms = (1000 - i) / 10;
        tasks.push(tokio::spawn(async move {
            let (slept, _): (u64, Option<u64>) = client.call("Slow", "Sleep", &ms).await.unwrap();
            assert_eq!(slept, ms);
            order.lock().unwrap().push(i);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 1000);
    let inversions = order.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(
        inversions > 100,
        "replies came back nearly in order ({inversions} inversions)"
    );
}

#[tokio::test]
async fn server_push_reaches_the_client() {
    let _panics = support::panics::guard();
    let server = Server::builder()
        .handler(
            "Chat",
            "Subscribe",
            |ctx: Context, topic: String| async move {
                let conn = ctx.connection().clone();
                tokio::spawn(async move {
                    for i in 0..3 {
                        let mut md = Metadata::new();
                        md.insert("topic", topic.clone());
                        conn.push("Chat", "Message", md, Bytes::from(format!("msg {i}")))
                            .await
                            .unwrap();
                    }
                });
                Ok::<_, ServiceError>(true)
            },
        )
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let mut pushes = client.take_push_receiver().unwrap();
    assert!(
        client
            .call::<_, bool>("Chat", "Subscribe", &"news".to_owned())
            .await
            .unwrap()
    );
    let mut seqs = Vec::new();
    for i in 0..3 {
        let m = tokio::time::timeout(Duration::from_secs(5), pushes.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(m.is_server_push());
        assert_eq!(m.header.serialize_type(), SerializeType::NONE);
        assert_eq!(m.service_method, "Message");
        assert_eq!(m.metadata.get("topic"), Some("news"));
        assert_eq!(m.payload, Bytes::from(format!("msg {i}")));
        seqs.push(m.header.seq);
    }
    assert_eq!(seqs, vec![1, 2, 3], "server push seq starts at 1");
    // The server also lists the connection for pushes from outside a handler.
    let conns = srv.server().connections();
    assert_eq!(conns.len(), 1);
    conns[0]
        .push("Chat", "Bye", Metadata::new(), Bytes::new())
        .await
        .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), pushes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.service_method, "Bye");
    // When the connection ends, the receiver gets a final error message naming the server.
    drop(srv);
    drop(conns);
    client.close();
    let last = tokio::time::timeout(Duration::from_secs(5), pushes.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(last.header.is_error());
    assert!(last.metadata.get("server").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_and_refuses() {
    let _panics = support::panics::guard();
    let srv = sleepy_server().serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.local_addr().to_string();
    let client = Client::connect(&addr).await.unwrap();
    let in_flight: Vec<_> = (0..10)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move {
                c.call::<_, (u64, Option<u64>)>("Slow", "Sleep", &300u64)
                    .await
            })
        })
        .collect();
    // Wait until they are all running on the server.
    let server = srv.server().clone();
    while server.in_flight() < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let shutdown = tokio::spawn(srv.shutdown(Duration::from_secs(10)));
    // Wait until draining has begun: the listener is closed, new connections are refused.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while Client::connect(&addr).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "listener still open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // New calls on the open connection are refused with a clear error.
    let e = client
        .call::<_, (u64, Option<u64>)>("Slow", "Sleep", &1u64)
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error().map(|s| s.message.as_str()),
        Some(fastrpc::server::SHUTTING_DOWN)
    );
    // Calls in flight finish normally.
    for t in in_flight {
        assert_eq!(t.await.unwrap().unwrap().0, 300);
    }
    assert!(shutdown.await.unwrap(), "drained within the grace period");
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .unwrap();
}

#[tokio::test]
async fn shutdown_hard_deadline_stops_stuck_calls() {
    let _panics = support::panics::guard();
    let srv = sleepy_server().serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let stuck = {
        let c = client.clone();
        tokio::spawn(async move {
            c.call::<_, (u64, Option<u64>)>("Slow", "Sleep", &60_000u64)
                .await
        })
    };
    while srv.server().in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = std::time::Instant::now();
    assert!(
        !srv.shutdown(Duration::from_millis(100)).await,
        "not drained"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let e = tokio::time::timeout(Duration::from_secs(5), stuck)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, ClientError::ConnectionClosed(_)), "{e}");
}

#[tokio::test]
async fn pending_calls_fail_when_the_server_dies() {
    let _panics = support::panics::guard();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let client = Client::connect(&addr.to_string()).await.unwrap();
    let (sock, _) = l.accept().await.unwrap();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move {
                c.call::<_, GoReply>("Arith", "Mul", &GoArgs::default())
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(sock);
    drop(l);
    for c in calls {
        let e = tokio::time::timeout(Duration::from_secs(5), c)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(e, ClientError::ConnectionClosed(_)) && e.is_retryable(),
            "{e}"
        );
    }
    assert!(matches!(
        Client::connect(&addr.to_string()).await.unwrap_err(),
        ClientError::Connect { .. }
    ));
}

#[tokio::test]
async fn panicking_handler_becomes_an_error_reply() {
    let _panics = support::panics::guard();
    let server = Server::builder()
        .handler("Bad", "Panic", |_c: Context, _a: u8| async move {
            if true {
                panic!("boom");
            }
            Ok::<u8, ServiceError>(0)
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let e = client
        .call::<_, u8>("Bad", "Panic", &1u8)
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .message
            .starts_with("[service internal error]: boom"),
        "{e}"
    );
    assert_eq!(srv.server().in_flight(), 0);
}
