//! Every client error kind, from a fastrpc server and, where the wire carries it, from a fake
//! server that answers with Go rpcx's exact error frames (`rpcx-vectors.txt`).

mod support;

use fastrpc::protocol::Limits;
use fastrpc::{
    CallOptions, Client, ClientError, ClientOptions, Context, ErrorKind, Raw, Server, ServiceError,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use support::{RawConn, unhex, vector};
use tokio::sync::Notify;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Args {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Product {
    #[serde(rename = "C")]
    c: i64,
}

struct Arith {
    release: Arc<Notify>,
}

#[fastrpc::service]
impl Arith {
    async fn mul(&self, args: Args) -> Product {
        Product { c: args.a * args.b }
    }

    async fn fail(&self, _args: Args) -> Result<Product, ServiceError> {
        Err(ServiceError::with_reply("not found", Product { c: -1 }))
    }

    /// Returns once released (or after a minute).
    async fn hold(&self, ctx: &Context) -> u32 {
        let _ = ctx;
        let _ = tokio::time::timeout(Duration::from_secs(60), self.release.notified()).await;
        1
    }
}

fn arith() -> (Arith, Arc<Notify>) {
    let release = Arc::new(Notify::new());
    (
        Arith {
            release: release.clone(),
        },
        release,
    )
}

async fn serve(server: Server) -> (fastrpc::ServerHandle, String) {
    let running = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp@{}", running.local_addr());
    (running, addr)
}

fn args() -> Args {
    Args { a: 7, b: 8 }
}

#[tokio::test]
async fn kinds_from_a_fastrpc_server() {
    let (svc, _release) = arith();
    let (running, addr) = serve(Server::builder().service(svc).build()).await;
    let client = Client::connect(&addr).await.unwrap();

    // The service's own error, with its reply.
    let e = client
        .call::<_, Product>("Arith", "Fail", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Remote);
    assert_eq!(e.as_remote_error().unwrap().message, "not found");
    assert_eq!(
        e.as_remote_error()
            .unwrap()
            .decode_reply::<Product>()
            .unwrap()
            .unwrap(),
        Product { c: -1 }
    );
    assert!(!e.is_retryable());

    let e = client
        .call::<_, Product>("Nope", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownService, "{e}");
    assert!(!e.is_retryable());

    let e = client
        .call::<_, Product>("Arith", "Nope", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownMethod, "{e}");

    // A string where the method wants `Args`: the server cannot decode it.
    let e = client
        .call::<_, Product>("Arith", "Mul", &"seven".to_owned())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadArgument, "{e}");
    assert!(!e.is_retryable());
    // Bytes that are no MessagePack at all.
    let e = client
        .call_with::<_, Product>(
            "Arith",
            "Mul",
            &Raw::from(vec![0xc1]),
            CallOptions::default().serialize_type(fastrpc::SerializeType::MSGPACK),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadArgument, "{e}");

    // The caller's deadline.
    let e = client
        .call_with::<_, u32>(
            "Arith",
            "Hold",
            &(),
            CallOptions::default().timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeadlineExceeded, "{e}");
    assert!(!e.is_retryable());

    // The connection still works after all of these.
    assert_eq!(
        client
            .call::<_, Product>("Arith", "Mul", &args())
            .await
            .unwrap()
            .c,
        56
    );
    running.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn default_timeout_applies_and_can_be_turned_off() {
    let (svc, release) = arith();
    let (running, addr) = serve(Server::builder().service(svc).build()).await;
    assert_eq!(
        ClientOptions::default().default_timeout,
        Some(Duration::from_secs(30))
    );
    let opts = ClientOptions::default().default_timeout(Some(Duration::from_millis(200)));
    let client = Client::connect_with(&addr, opts).await.unwrap();
    let e = client
        .call::<_, u32>("Arith", "Hold", &())
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::Timeout(t) if t == Duration::from_millis(200)),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::DeadlineExceeded);
    // A per-call timeout overrides the default.
    let slow = client.call_with::<_, u32>(
        "Arith",
        "Hold",
        &(),
        CallOptions::default().timeout(Duration::from_secs(60)),
    );
    let releaser = async {
        // Release only once the call is running (and so past the 200 ms default).
        while running.server().in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        release.notify_waiters();
    };
    let (r, ()) = tokio::join!(slow, releaser);
    assert_eq!(r.unwrap().value, 1);

    // `None` turns the default off: the call waits for the reply.
    let opts = ClientOptions::default().default_timeout(None);
    let client = Client::connect_with(&addr, opts).await.unwrap();
    let slow = client.call::<_, u32>("Arith", "Hold", &());
    let releaser = async {
        while running.server().in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        release.notify_waiters();
    };
    let (r, ()) = tokio::join!(slow, releaser);
    assert_eq!(r.unwrap(), 1);
    running.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn refused_token_is_unauthenticated_and_not_retryable() {
    let (svc, _release) = arith();
    let server = Server::builder()
        .service(svc)
        .auth(|_msg, token| {
            if token == "good" {
                Ok(())
            } else {
                Err("invalid token".to_owned())
            }
        })
        .build();
    let (running, addr) = serve(server).await;
    let good = Client::connect_with(&addr, ClientOptions::default().auth("good"))
        .await
        .unwrap();
    assert_eq!(
        good.call::<_, Product>("Arith", "Mul", &args())
            .await
            .unwrap()
            .c,
        56
    );
    // An error reply of an authenticated client's service stays a service error.
    let e = good
        .call::<_, Product>("Arith", "Fail", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Remote);

    let bad = Client::connect_with(&addr, ClientOptions::default().auth("bad"))
        .await
        .unwrap();
    let e = bad
        .call::<_, Product>("Arith", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(e.as_remote_error().unwrap().message, "invalid token");
    assert!(!e.is_retryable());
    // The server closed the connection; later calls say why, and are not retryable either.
    tokio::time::timeout(Duration::from_secs(10), bad.closed())
        .await
        .unwrap();
    let e = bad
        .call::<_, Product>("Arith", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.is_retryable());
    running.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_is_retryable() {
    let (svc, release) = arith();
    let (running, addr) = serve(Server::builder().service(svc).build()).await;
    let client = Client::connect(&addr).await.unwrap();
    let held = tokio::spawn({
        let c = client.clone();
        async move { c.call::<_, u32>("Arith", "Hold", &()).await }
    });
    let server = running.server().clone();
    while server.in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let shutdown = tokio::spawn(running.shutdown(Duration::from_secs(30)));
    // Wait until draining has begun: the listener is closed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while Client::connect(&addr).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "listener still open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let e = client
        .call::<_, Product>("Arith", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ShuttingDown, "{e}");
    assert!(e.is_retryable());
    release.notify_waiters();
    assert_eq!(held.await.unwrap().unwrap(), 1);
    assert!(shutdown.await.unwrap());
}

#[tokio::test]
async fn frame_too_large_is_refused_before_sending() {
    let (svc, _release) = arith();
    let (running, addr) = serve(Server::builder().service(svc).build()).await;
    let limits = Limits {
        max_frame_len: 1024,
        ..Limits::default()
    };
    let client = Client::connect_with(&addr, ClientOptions::default().limits(limits))
        .await
        .unwrap();
    let e = client
        .call::<_, Raw>("Echo", "Echo", &Raw::from(vec![7u8; 2000]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FrameTooLarge, "{e}");
    assert!(
        matches!(e, ClientError::FrameTooLarge { max: 1024, .. }),
        "{e}"
    );
    assert!(!e.is_retryable());
    // Nothing was sent: the connection is fine.
    assert!(!client.is_closed());
    assert_eq!(
        client
            .call::<_, Product>("Arith", "Mul", &args())
            .await
            .unwrap()
            .c,
        56
    );
    running.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn transport_failures_are_retryable() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("tcp@{}", listener.local_addr().unwrap());
    drop(listener);
    let e = Client::connect(&addr).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.is_retryable());

    // A server that closes the connection under a pending call.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut conn = RawConn::from_stream(s);
        let _ = conn.read_frame_bytes().await;
        drop(conn);
    });
    let client = Client::connect(&format!("tcp@{local}")).await.unwrap();
    let e = client
        .call::<_, Product>("Arith", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(e.is_retryable());
}

/// A fake Go rpcx server: answers every request with `reply` (a captured Go frame, its seq
/// replaced by the request's), then closes the connection if `close_after`.
async fn fake_go_server(reply: Vec<u8>, close_after: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp@{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut conn = RawConn::from_stream(s);
                while let Some(req) = conn.read_frame_bytes().await {
                    let mut frame = reply.clone();
                    frame[4..12].copy_from_slice(&req[4..12]);
                    conn.send(&frame).await;
                    if close_after {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Section C of `rpcx-vectors.txt`: Go rpcx's error replies (hex as captured).
const GO_ERROR_FRAMES: &[(&str, &str, ErrorKind)] = &[
    // C8: handler returned ctx.Err() after its __ServerTimeout.
    (
        "C8",
        "0800811000000000000000010000005200000004536c6f7700000008536c6565704374780000002f0000000e5f5f727063785f6572726f725f5f00000019636f6e7465787420646561646c696e65206578636565646564000000077b2243223a307d",
        ErrorKind::DeadlineExceeded,
    ),
    // C20: truncated JSON, "unexpected EOF".
    (
        "C20",
        "0800811000000000000000010000003c000000054172697468000000034d756c000000240000000e5f5f727063785f6572726f725f5f0000000e756e657870656374656420454f4600000000",
        ErrorKind::BadArgument,
    ),
    // C22: "json: cannot unmarshal string into Go struct field Args.A of type int".
    (
        "C22",
        "08008110000000000000000200000073000000054172697468000000034d756c0000005b0000000e5f5f727063785f6572726f725f5f000000456a736f6e3a2063616e6e6f7420756e6d61727368616c20737472696e6720696e746f20476f20737472756374206669656c6420417267732e41206f66207479706520696e7400000000",
        ErrorKind::BadArgument,
    ),
    // C24: "msgpack: unexpected code=c1 decoding map length".
    (
        "C24",
        "0800813000000000000000030000005d000000054172697468000000034d756c000000450000000e5f5f727063785f6572726f725f5f0000002f6d73677061636b3a20756e657870656374656420636f64653d6331206465636f64696e67206d6170206c656e67746800000000",
        ErrorKind::BadArgument,
    ),
    // C28: "proto:\u{a0}cannot parse invalid wire-format data".
    (
        "C28",
        "0800812000000000000000050000005b00000002504200000006537175617265000000430000000e5f5f727063785f6572726f725f5f0000002d70726f746f3ac2a063616e6e6f7420706172736520696e76616c696420776972652d666f726d6174206461746100000000",
        ErrorKind::BadArgument,
    ),
    // C32: the rate limiter.
    (
        "C32",
        "08008110000000000000000100000048000000054172697468000000034d756c000000300000000e5f5f727063785f6572726f725f5f0000001a7265717565737420726561636865642072617465206c696d697400000000",
        ErrorKind::RateLimited,
    ),
    // C45: an unknown serialize type, "can not find codec for 9".
    (
        "C45",
        "08008190000000000000000200000046000000054172697468000000034d756c0000002e0000000e5f5f727063785f6572726f725f5f0000001863616e206e6f742066696e6420636f64656320666f72203900000000",
        ErrorKind::BadArgument,
    ),
];

#[tokio::test]
async fn kinds_from_go_error_frames() {
    let mut cases: Vec<(String, Vec<u8>, ErrorKind)> = GO_ERROR_FRAMES
        .iter()
        .map(|(name, hex, kind)| (name.to_string(), unhex(hex), *kind))
        .collect();
    // Section A: unknown method (A9) and unknown service (A19).
    cases.push(("A9".into(), vector("A9"), ErrorKind::UnknownMethod));
    cases.push(("A19".into(), vector("A19"), ErrorKind::UnknownService));
    // A8: the service's own error, with a reply in the payload.
    cases.push(("A8".into(), vector("A8"), ErrorKind::Remote));
    for (name, frame, kind) in cases {
        let addr = fake_go_server(frame, false).await;
        let client = Client::connect(&addr).await.unwrap();
        let e = client
            .call::<_, Product>("Arith", "Mul", &args())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
        assert!(!e.is_retryable(), "{name}");
        assert!(!client.is_closed(), "{name}");
    }
}

#[tokio::test]
async fn go_auth_refusal_is_unauthenticated() {
    // C4: "invalid token", then the Go server closes the connection.
    let c4 = "0800811000000000000000000000003b000000054172697468000000034d756c000000230000000e5f5f727063785f6572726f725f5f0000000d696e76616c696420746f6b656e00000000";
    let addr = fake_go_server(unhex(c4), true).await;
    let client = Client::connect_with(&addr, ClientOptions::default().auth("bearer wrong-token"))
        .await
        .unwrap();
    let e = client
        .call::<_, Product>("Arith", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.is_retryable());
    let e = client
        .call::<_, Product>("Arith", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");

    // The same frame to a client that sent no token is an ordinary service error: nothing
    // says it was about auth.
    let addr = fake_go_server(unhex(c4), false).await;
    let client = Client::connect(&addr).await.unwrap();
    let e = client
        .call::<_, Product>("Arith", "Mul", &args())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Remote, "{e}");
}
