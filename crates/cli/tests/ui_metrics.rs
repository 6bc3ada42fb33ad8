//! The dashboard's latency column: per-server call rate and latency read from the metrics
//! endpoint each server advertises in a real Redis registry (`RegistrarPlugin::
//! advertise_metrics`, with `ServerMetrics` and the Prometheus exporter on), checked through
//! `GET /api/services` of `fastrpc ui` run as a process.
//!
//! The handler sleeps 5 ms, so the latencies have a floor the test can check without
//! asserting any speed. Needs `redis-server` (skipped with a message when missing, failed
//! when `FASTRPC_REQUIRE_INFRA=1`).

mod support;

use fastrpc::plugins::metrics::{PrometheusExporter, ServerMetrics};
use fastrpc::registry::RegistrarPlugin;
use fastrpc::{Client, Context, Server, ServerHandle, ServiceError};
use fastrpc_test_infra::{RedisServer, free_port};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use support::ui::{Ui, start_ui};
use support::{Args, Reply};

const HANDLER_SLEEP: Duration = Duration::from_millis(5);

/// A server of `Arith` registered in `registry_url`, advertising `metrics_url`.
async fn server(registry_url: &str, metrics_url: &str) -> (String, ServerHandle) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    let registrar = fastrpc::registry::from_url(registry_url).await.unwrap();
    let server = Server::builder()
        .plugin(RegistrarPlugin::from_arc(registrar, key.clone()).advertise_metrics(metrics_url))
        .plugin(ServerMetrics::new())
        .handler("Arith", "Mul", |_c: Context, a: Args| async move {
            tokio::time::sleep(HANDLER_SLEEP).await;
            Ok::<_, ServiceError>(Reply { c: a.a * a.b })
        })
        .service_metadata("Arith", "weight=1")
        .build();
    (key, server.serve_listener(listener).unwrap())
}

/// The `/api/services` entry of `key`.
fn row(ui: &Ui, key: &str) -> Value {
    let (status, body) = ui.request("GET", "/api/services", &[], "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["servers"].as_array().unwrap().iter())
        .find(|s| s["server"] == key)
        .cloned()
        .unwrap_or_else(|| panic!("{key} not listed: {v}"))
}

async fn calls(client: &Client, n: usize) {
    for i in 0..n as i64 {
        let r: Reply = client
            .call("Arith", "Mul", &Args { a: i, b: 2 })
            .await
            .unwrap();
        assert_eq!(r.c, i * 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_rate_come_from_each_servers_metrics_endpoint() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url("/rpcx_metrics?interval=500ms&ttl=5s");
    // One recorder per process: this test's server is the only one recording.
    let metrics_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    PrometheusExporter::new().serve_http(metrics_addr).unwrap();
    let (key, handle) = server(&url, &format!("http://{metrics_addr}/metrics")).await;
    // A server whose advertised endpoint does not answer: shown, with the reason.
    let dead_metrics = format!("http://127.0.0.1:{}/metrics", free_port());
    let (dead_key, dead_handle) = server(&url, &dead_metrics).await;

    let client = Client::connect(&key).await.unwrap();
    calls(&client, 40).await;
    let ui = start_ui(&url);

    // First look: since the server started.
    let first = row(&ui, &key);
    let m = &first["metrics"];
    assert!(first["metrics_error"].is_null(), "{first}");
    assert_eq!(m["calls"], 40.0, "{first}");
    assert!(
        m["window_secs"].is_null() && m["calls_per_sec"].is_null(),
        "{first}"
    );
    let floor_ms = HANDLER_SLEEP.as_secs_f64() * 1e3;
    assert!(m["mean_ms"].as_f64().unwrap() >= floor_ms, "{first}");
    assert!(m["p99_ms"].as_f64().unwrap() >= floor_ms, "{first}");
    // Its metadata carries the URL, decoded, like any custom key.
    assert_eq!(
        first["custom"]["metrics"],
        format!("http://{metrics_addr}/metrics")
    );

    // Second look: only the calls made since the first, over the time between them.
    calls(&client, 25).await;
    let second = row(&ui, &key);
    let m = &second["metrics"];
    assert_eq!(m["calls"], 25.0, "{second}");
    let window = m["window_secs"].as_f64().unwrap();
    assert!(window > 0.0, "{second}");
    let rate = m["calls_per_sec"].as_f64().unwrap();
    assert!((rate - 25.0 / window).abs() < 1e-6, "{second}");
    assert!(m["mean_ms"].as_f64().unwrap() >= floor_ms, "{second}");
    // The 5 ms calls fall in the (5 ms, 10 ms] bucket or above.
    assert!(m["p99_ms"].as_f64().unwrap() >= floor_ms, "{second}");

    // An idle window: no calls, a zero rate, no latency.
    let idle = row(&ui, &key);
    assert_eq!(idle["metrics"]["calls"], 0.0, "{idle}");
    assert_eq!(idle["metrics"]["calls_per_sec"], 0.0, "{idle}");
    assert!(idle["metrics"]["mean_ms"].is_null(), "{idle}");

    let dead = row(&ui, &dead_key);
    assert!(dead["metrics"].is_null(), "{dead}");
    assert!(
        dead["metrics_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{dead}"
    );
    assert_eq!(dead["alive"], true, "the server itself answers: {dead}");

    // The page shows both.
    let (_, page) = ui.request("GET", "/", &[], "");
    assert!(page.contains("metrics unreadable"), "{page}");
    assert!(page.contains("p99 "), "{page}");

    client.close();
    handle.shutdown(Duration::from_secs(2)).await;
    dead_handle.shutdown(Duration::from_secs(2)).await;
}
