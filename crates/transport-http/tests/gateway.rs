//! rpcx's HTTP gateway (§2.2) through a real port and a real HTTP client (hyper): every header,
//! status code and error path, port sharing with rpcx, bounds, and 1,000 concurrent calls.

mod support;

/// Request headers of one case.
type Headers<'a> = Vec<(&'a str, &'a str)>;

use fastrpc_client::{Client, ClientOptions};
use fastrpc_server::Raw;
use fastrpc_transport_http::{CorsOptions, HttpOptions};
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_echoes_rpcx_headers() {
    let r = start(HttpOptions::default()).await;
    let a = send(
        r.addr,
        "POST",
        "/Arith",
        &[
            // Names in any case.
            ("x-rpcx-serializetype", "1"),
            ("X-Rpcx-Servicemethod", "Mul"),
            ("X-RPCX-MessageID", "12345"),
            ("X-RPCX-Version", "7"),
        ],
        r#"{"A":10,"B":20}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(&a.body[..], br#"{"C":200}"#);
    assert_eq!(a.header("x-rpcx-messageid"), Some("12345"));
    assert_eq!(a.header("x-rpcx-version"), Some("7"));
    assert_eq!(a.header("x-rpcx-servicepath"), Some("Arith"));
    assert_eq!(a.header("x-rpcx-servicemethod"), Some("Mul"));
    assert_eq!(a.header("x-rpcx-serializetype"), Some("1"));
    assert!(
        a.header("x-rpcx-meta").is_some(),
        "X-RPCX-Meta is always sent"
    );
    assert_eq!(a.header("x-rpcx-messagestatustype"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_path_header_wins_and_get_put_route() {
    let r = start(HttpOptions::default()).await;
    let mut http = Http::connect(r.addr).await;
    for method in ["GET", "PUT", "POST"] {
        let a = http
            .send(
                method,
                "/Nope",
                &[
                    ("X-RPCX-SerializeType", "0"),
                    ("X-RPCX-ServicePath", "Echo"),
                    ("X-RPCX-ServiceMethod", "Echo"),
                ],
                "raw bytes",
            )
            .await;
        assert_eq!(a.status, 200, "{method}");
        assert_eq!(&a.body[..], b"raw bytes");
        assert_eq!(a.header("x-rpcx-servicepath"), Some("Echo"));
    }
    let a = http.send("DELETE", "/Echo", &[], "").await;
    assert_eq!(a.status, 405);
    assert_eq!(a.header("allow"), Some("GET, POST, PUT"));
}

/// Requests the gateway cannot read: HTTP 200, empty body, the error in headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_requests_answer_200_with_error_headers() {
    let r = start(HttpOptions::default()).await;
    let full = [
        ("X-RPCX-SerializeType", "1"),
        ("X-RPCX-ServiceMethod", "Mul"),
    ];
    let cases: Vec<(&str, Headers<'_>, &str)> = vec![
        ("/", full.to_vec(), "empty servicepath"),
        (
            "/Arith",
            vec![("X-RPCX-SerializeType", "1")],
            "empty servicemethod",
        ),
        (
            "/Arith",
            vec![("X-RPCX-ServiceMethod", "Mul")],
            "empty serialized type",
        ),
        (
            "/Arith",
            [&full[..], &[("X-RPCX-MessageID", "x1")]].concat(),
            "strconv.ParseUint: parsing \"x1\": invalid syntax",
        ),
        (
            "/Arith",
            vec![
                ("X-RPCX-SerializeType", "json"),
                ("X-RPCX-ServiceMethod", "Mul"),
            ],
            "strconv.Atoi: parsing \"json\": invalid syntax",
        ),
        (
            "/Arith",
            [&full[..], &[("X-RPCX-CompressType", "gz")]].concat(),
            "strconv.Atoi: parsing \"gz\": invalid syntax",
        ),
        (
            "/Arith",
            [&full[..], &[("X-RPCX-Meta", "a=%zz")]].concat(),
            "invalid URL escape \"%zz\"",
        ),
    ];
    let mut http = Http::connect(r.addr).await;
    for (path, headers, want) in cases {
        let a = http.send("POST", path, &headers, r#"{"A":1,"B":2}"#).await;
        assert_eq!(a.status, 200, "{want}");
        assert!(a.body.is_empty(), "{want}");
        assert_eq!(a.header("x-rpcx-messagestatustype"), Some("Error"));
        assert_eq!(a.header("x-rpcx-errormessage"), Some(want));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failure_is_401_and_harms_no_other_call() {
    let r = start(HttpOptions::default()).await;
    // A call in flight on the shared in-memory connection while auth refuses another: the
    // refusal is answered by the front end, so that connection stays up.
    let addr = r.addr;
    let slow = tokio::spawn(async move {
        let wait = [
            ("X-RPCX-SerializeType", "1"),
            ("X-RPCX-ServicePath", "Slow"),
            ("X-RPCX-ServiceMethod", "Wait"),
        ];
        send(addr, "POST", "/", &wait, "500").await
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let a = send(
        r.addr,
        "POST",
        "/Arith",
        &[
            ("X-RPCX-SerializeType", "1"),
            ("X-RPCX-ServiceMethod", "Mul"),
            ("Authorization", "bad"),
        ],
        r#"{"A":1,"B":2}"#,
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.header("x-rpcx-messagestatustype"), Some("Error"));
    assert_eq!(a.header("x-rpcx-errormessage"), Some("auth: invalid token"));
    let ok = mul(r.addr, 6, 7).await;
    assert_eq!(
        (ok.status.as_u16(), &ok.body[..]),
        (200, &br#"{"C":42}"#[..])
    );
    let slow = slow.await.unwrap();
    assert_eq!((slow.status.as_u16(), &slow.body[..]), (200, &b"500"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connection_is_closed_after_the_header_timeout() {
    let r =
        start(HttpOptions::default().header_timeout(std::time::Duration::from_millis(200))).await;
    let mut silent = TcpStream::connect(r.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read(&mut silent, &mut buf),
    )
    .await
    .expect("closed in time")
    .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert_eq!(mul(r.addr, 1, 2).await.body, &br#"{"C":2}"#[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_are_500() {
    let r = start(HttpOptions::default()).await;
    let mut http = Http::connect(r.addr).await;
    let cases = [
        ("/Arith", "Fail", "division by zero"),
        ("/Nope", "Mul", "rpcx: can't find service Nope"),
        ("/Arith", "Nope", "rpcx: can't find method Nope"),
    ];
    for (path, method, want) in cases {
        let a = http
            .send(
                "POST",
                path,
                &[
                    ("X-RPCX-SerializeType", "1"),
                    ("X-RPCX-ServiceMethod", method),
                ],
                r#"{"A":1,"B":2}"#,
            )
            .await;
        assert_eq!(a.status, 500, "{want}");
        assert!(a.body.is_empty());
        assert_eq!(a.header("x-rpcx-messagestatustype"), Some("Error"));
        assert_eq!(a.header("x-rpcx-errormessage"), Some(want));
    }
    // A body the codec cannot decode is a service error too.
    let a = http
        .send(
            "POST",
            "/Arith",
            &[
                ("X-RPCX-SerializeType", "1"),
                ("X-RPCX-ServiceMethod", "Mul"),
            ],
            "{not json",
        )
        .await;
    assert_eq!(a.status, 500);
    assert!(a.header("x-rpcx-errormessage").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_and_heartbeat_still_call_the_service() {
    let r = start(HttpOptions::default()).await;
    let base = [
        ("X-RPCX-SerializeType", "1"),
        ("X-RPCX-ServicePath", "Count"),
        ("X-RPCX-ServiceMethod", "Hit"),
    ];
    let a = send(
        r.addr,
        "POST",
        "/",
        &[&base[..], &[("X-RPCX-Oneway", "1")]].concat(),
        "1",
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.body.is_empty(), "oneway: no reply body");
    let a = send(
        r.addr,
        "POST",
        "/",
        &[&base[..], &[("X-RPCX-Heartbeat", "0")]].concat(),
        "1",
    )
    .await;
    assert_eq!((a.status.as_u16(), &a.body[..]), (200, &b"null"[..]));
    assert_eq!(r.hits.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_in_and_out() {
    let r = start(HttpOptions::default()).await;
    let a = send(
        r.addr,
        "POST",
        "/Meta",
        &[
            ("X-RPCX-SerializeType", "1"),
            ("X-RPCX-ServiceMethod", "Get"),
            ("X-RPCX-Meta", "k=v%26w&k=second&other=1"),
        ],
        r#""k""#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(&a.body[..], br#""v&w""#);
    let meta = a.header("x-rpcx-meta").unwrap();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(meta.as_bytes())
        .into_owned()
        .collect();
    assert!(
        pairs.contains(&("seen".into(), "yes & more".into())),
        "{meta}"
    );
    // Authorization arrives as __AUTH.
    let a = send(
        r.addr,
        "POST",
        "/Meta",
        &[
            ("X-RPCX-SerializeType", "1"),
            ("X-RPCX-ServiceMethod", "Get"),
            ("Authorization", "Bearer good"),
        ],
        r#""__AUTH""#,
    )
    .await;
    assert_eq!(&a.body[..], br#""Bearer good""#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_bounded_in_bytes() {
    let r = start(HttpOptions::default().max_body_bytes(1024)).await;
    let headers = [
        ("X-RPCX-SerializeType", "0"),
        ("X-RPCX-ServicePath", "Echo"),
        ("X-RPCX-ServiceMethod", "Echo"),
    ];
    let a = send(r.addr, "POST", "/", &headers, vec![b'x'; 1025]).await;
    assert_eq!(a.status, 413);
    let a = send(r.addr, "POST", "/", &headers, vec![b'x'; 1024]).await;
    assert_eq!((a.status.as_u16(), a.body.len()), (200, 1024));
    assert_eq!(r.gateway.body_bytes_held(), 0);

    // The shared budget: a body that would go over it gets 503.
    let r = start(HttpOptions::default().max_total_body_bytes(100)).await;
    let a = send(r.addr, "POST", "/", &headers, vec![b'x'; 101]).await;
    assert_eq!(a.status, 503);
    let a = send(r.addr, "POST", "/", &headers, vec![b'x'; 100]).await;
    assert_eq!(a.status, 200);
    assert_eq!(r.gateway.body_bytes_held(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpcx_and_http_share_the_port() {
    let r = start(HttpOptions::default()).await;
    let stream = TcpStream::connect(r.addr).await.unwrap();
    let client = Client::from_io(stream, format!("tcp@{}", r.addr), ClientOptions::default());
    let echoed: Raw = client
        .call("Echo", "Echo", &Raw::from(b"over rpcx".to_vec()))
        .await
        .unwrap();
    assert_eq!(&echoed[..], b"over rpcx");
    let a = mul(r.addr, 3, 4).await;
    assert_eq!(&a.body[..], br#"{"C":12}"#);
    // The rpcx connection is a real server connection (peer = the TCP address).
    assert!(r.server.connections().len() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_requests_harm_no_other_connection() {
    let r = start(HttpOptions::default()).await;
    // A keep-alive connection that stays open throughout.
    let mut live = Http::connect(r.addr).await;
    let headers = [
        ("X-RPCX-SerializeType", "0"),
        ("X-RPCX-ServicePath", "Echo"),
        ("X-RPCX-ServiceMethod", "Echo"),
    ];
    assert_eq!(live.send("POST", "/", &headers, "a").await.status, 200);

    // Head cut off mid-header.
    let mut s = TcpStream::connect(r.addr).await.unwrap();
    s.write_all(b"POST /Echo HTTP/1.1\r\nHost: x\r\nX-RPCX-Ser")
        .await
        .unwrap();
    drop(s);
    // Body cut off: 100 bytes announced, 10 sent.
    let mut s = TcpStream::connect(r.addr).await.unwrap();
    s.write_all(
        b"POST /Echo HTTP/1.1\r\nHost: x\r\nX-RPCX-SerializeType: 0\r\n\
          X-RPCX-ServiceMethod: Echo\r\nContent-Length: 100\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    s.shutdown().await.unwrap();
    drop(s);
    // Garbage that is neither rpcx nor HTTP.
    let mut s = TcpStream::connect(r.addr).await.unwrap();
    s.write_all(b"\x00\x01\x02 not http at all\r\n\r\n")
        .await
        .unwrap();
    drop(s);

    assert_eq!(&live.send("POST", "/", &headers, "b").await.body[..], b"b");
    assert_eq!(mul(r.addr, 2, 5).await.body, &br#"{"C":10}"#[..]);
    let g = r.gateway.clone();
    eventually("cut-off bodies released", || g.body_bytes_held() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_gateway_calls() {
    let r = start(HttpOptions::default()).await;
    let addr = r.addr;
    let tasks: Vec<_> = (0..1000i64)
        .map(|i| {
            tokio::spawn(async move {
                let a = mul(addr, i, 3).await;
                assert_eq!(a.status, 200);
                let reply: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
                assert_eq!(reply["C"], i * 3);
            })
        })
        .collect();
    for t in tasks {
        tokio::time::timeout(PATIENCE, t)
            .await
            .expect("1,000 calls in time")
            .unwrap();
    }
    assert_eq!(r.gateway.body_bytes_held(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_headers() {
    let r = start(HttpOptions::default().cors(CorsOptions::allow_all())).await;
    let a = send(
        r.addr,
        "OPTIONS",
        "/Arith",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "x-rpcx-serializetype"),
        ],
        "",
    )
    .await;
    assert_eq!(a.status, 204);
    assert_eq!(a.header("access-control-allow-origin"), Some("*"));
    assert_eq!(a.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        a.header("access-control-allow-headers"),
        Some("x-rpcx-serializetype")
    );
    let a = send(
        r.addr,
        "POST",
        "/Arith",
        &[
            ("Origin", "https://app.example"),
            ("X-RPCX-SerializeType", "1"),
            ("X-RPCX-ServiceMethod", "Mul"),
        ],
        r#"{"A":2,"B":2}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("access-control-allow-origin"), Some("*"));
    assert!(
        a.header("access-control-expose-headers")
            .unwrap()
            .contains("X-RPCX-ErrorMessage")
    );

    // Without CORS configured: no CORS headers, OPTIONS is not a gateway method.
    let r = start(HttpOptions::default()).await;
    let a = send(r.addr, "OPTIONS", "/Arith", &[("Origin", "https://x")], "").await;
    assert_eq!(a.status, 405);
    assert_eq!(a.header("access-control-allow-origin"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_can_be_switched_off() {
    let r = start(HttpOptions::default().gateway(false)).await;
    assert_eq!(mul(r.addr, 1, 1).await.status, 404);
    // JSON-RPC still answers.
    let a = send(
        r.addr,
        "POST",
        "/",
        &[("X-JSONRPC-2.0", "true")],
        r#"{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":3},"id":1}"#,
    )
    .await;
    assert_eq!(a.json()["result"]["C"], 6);
    // With JSON-RPC off, the header is just a header: the gateway answers.
    let r = start(HttpOptions::default().jsonrpc(false)).await;
    let a = send(
        r.addr,
        "POST",
        "/Arith",
        &[
            ("X-JSONRPC-2.0", "true"),
            ("X-RPCX-SerializeType", "1"),
            ("X-RPCX-ServiceMethod", "Mul"),
        ],
        r#"{"A":2,"B":3}"#,
    )
    .await;
    assert_eq!(&a.body[..], br#"{"C":6}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_after_server_shutdown_answer_500() {
    let r = start(HttpOptions::default()).await;
    assert_eq!(mul(r.addr, 1, 2).await.status, 200);
    r.server.shutdown(std::time::Duration::from_secs(5)).await;
    let a = mul(r.addr, 1, 2).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.header("x-rpcx-messagestatustype"), Some("Error"));
    eprintln!("after shutdown: {:?}", a.header("x-rpcx-errormessage"));
}
