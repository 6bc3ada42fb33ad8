//! Prometheus metrics on the gateway's port: one TCP port serves rpcx, rpcx's HTTP gateway and
//! `GET /metrics` (an extra route of the HTTP front end rendering the metrics plugin's
//! recorder). Known traffic through both protocols, then a scrape on the same port.
//! (One test in this binary: the metrics recorder is process-wide.)
#![cfg(all(feature = "http", feature = "metrics"))]

use fastrpc::http::{Gateway, HttpOptions, RouteResponse};
use fastrpc::plugins::metrics::{PrometheusExporter, ServerMetrics};
use fastrpc::{Client, Context, Raw, Server, ServiceError};
use fastrpc_test_infra::prometheus_sample as sample;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one HTTP/1.1 request and returns the whole answer (head and body).
async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_on_the_gateway_port_after_rpcx_and_http_calls() {
    let recorder = PrometheusExporter::new().install().unwrap();
    let server = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(ServerMetrics::new())
        .build();
    let opts = HttpOptions::default().route("/metrics", move || {
        RouteResponse::new("text/plain; version=0.0.4", recorder.render())
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gateway = Gateway::new(server, opts);
    tokio::spawn(async move { gateway.serve(listener).await });

    // Two calls over rpcx and one through the HTTP gateway, all on the same port.
    let client = Client::connect(&addr.to_string()).await.unwrap();
    for _ in 0..2 {
        let r: Raw = client
            .call("Echo", "Echo", &Raw::from(&b"hi"[..]))
            .await
            .unwrap();
        assert_eq!(&r[..], b"hi");
    }
    let answer = http(
        addr,
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-RPCX-ServicePath: Echo\r\n\
         X-RPCX-ServiceMethod: Echo\r\nX-RPCX-SerializeType: 0\r\nContent-Length: 5\r\n\r\n",
        b"hello",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello"), "{answer}");

    let scrape = http(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await;
    assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
    assert!(
        scrape.contains("content-type: text/plain; version=0.0.4"),
        "{scrape}"
    );
    let echo = [("service", "Echo"), ("method", "Echo")];
    assert_eq!(
        sample(&scrape, "fastrpc_server_requests_total", &echo),
        Some(3.0),
        "{scrape}"
    );
    assert_eq!(
        sample(
            &scrape,
            "fastrpc_server_request_duration_seconds_count",
            &echo
        ),
        Some(3.0)
    );

    // Another path is still the gateway's: rpcx's error headers (no serialize type given).
    let other = http(
        addr,
        "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await;
    assert!(other.contains("x-rpcx-messagestatustype: Error"), "{other}");
}
