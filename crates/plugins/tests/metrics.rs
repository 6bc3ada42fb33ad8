//! Metrics: known traffic over real sockets, then a scrape of the Prometheus endpoint.
//! (One test in this binary: the recorder is process-wide.)

use fastrpc_client::{Call, CallOptions, Client};
use fastrpc_codec::Raw;
use fastrpc_plugins::metrics::{MeteredCall, PrometheusExporter, ServerMetrics};
use fastrpc_server::{Context, Server, ServiceError};
use fastrpc_test_infra::prometheus_sample as sample;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GETs `/metrics` with a plain HTTP/1.1 request, retrying while the listener starts.
async fn scrape(addr: SocketAddr) -> String {
    for _ in 0..200 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            let req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            s.write_all(req.as_bytes()).await.unwrap();
            let mut body = String::new();
            s.read_to_string(&mut body).await.unwrap();
            assert!(body.starts_with("HTTP/1.1 200"), "{body}");
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the metrics endpoint never came up");
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_shows_counts_and_histogram_buckets_after_known_traffic() {
    let metrics_addr = free_port();
    PrometheusExporter::new().serve_http(metrics_addr).unwrap();

    let srv = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .handler("Echo", "Fail", |_c: Context, _p: Raw| async move {
            Err::<Raw, _>(ServiceError::new("no"))
        })
        .plugin(ServerMetrics::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = MeteredCall::new(
        Client::connect(&srv.local_addr().to_string())
            .await
            .unwrap(),
    );
    let args = Raw::from(&[7u8; 100][..]);
    let opts = CallOptions::default;
    for _ in 0..5 {
        let r = client
            .invoke::<Raw, Raw>("Echo", "Echo", &args, opts())
            .await
            .unwrap();
        assert_eq!(r.value.len(), 100);
    }
    for _ in 0..2 {
        client
            .invoke::<Raw, Raw>("Echo", "Fail", &args, opts())
            .await
            .unwrap_err();
    }
    client
        .invoke::<Raw, Raw>("Nope", "X", &args, opts())
        .await
        .unwrap_err();

    let text = scrape(metrics_addr).await;
    let echo = [("service", "Echo"), ("method", "Echo")];
    assert_eq!(
        sample(&text, "fastrpc_server_requests_total", &echo),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_server_errors_total",
            &[("method", "Fail"), ("kind", "service")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_server_errors_total",
            &[("service", "unknown"), ("kind", "unknown_service")]
        ),
        Some(1.0)
    );
    // The latency histogram: all 5 calls fall in the 10 s bucket and in the count.
    let mut le10 = echo.to_vec();
    le10.push(("le", "10"));
    assert_eq!(
        sample(
            &text,
            "fastrpc_server_request_duration_seconds_bucket",
            &le10
        ),
        Some(5.0)
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_server_request_duration_seconds_count",
            &echo
        ),
        Some(5.0)
    );
    assert_eq!(
        sample(&text, "fastrpc_server_in_flight_requests", &echo),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "fastrpc_server_connections_open", &[]),
        Some(1.0)
    );
    // 8 requests of at least 100 payload bytes read; 7 replies sent (5 with the payload).
    assert!(sample(&text, "fastrpc_server_received_bytes_total", &[]).unwrap() >= 800.0);
    assert!(sample(&text, "fastrpc_server_sent_bytes_total", &[]).unwrap() >= 500.0);
    // The client side.
    assert_eq!(
        sample(&text, "fastrpc_client_requests_total", &echo),
        Some(5.0)
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_client_errors_total",
            &[("method", "Fail"), ("kind", "remote")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_client_errors_total",
            &[("service", "Nope"), ("kind", "unknown_service")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_client_request_duration_seconds_count",
            &echo
        ),
        Some(5.0)
    );

    // Closing the connection: the gauge falls and the per-connection byte histogram fills.
    client.inner().close();
    let mut text = String::new();
    for _ in 0..200 {
        text = scrape(metrics_addr).await;
        if sample(&text, "fastrpc_server_connections_open", &[]) == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        sample(&text, "fastrpc_server_connections_open", &[]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "fastrpc_server_connection_received_bytes_count", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_server_connection_received_bytes_bucket",
            &[("le", "1024")]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "fastrpc_server_connection_received_bytes_bucket",
            &[("le", "4096")]
        ),
        Some(1.0)
    );
}
