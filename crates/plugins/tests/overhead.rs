//! The cost of the observability plugins, side by side in one run (ignored by default; a
//! measurement, not a check):
//!
//! `cargo test --release -p fastrpc-plugins --test overhead -- --ignored --nocapture`

use fastrpc_client::{Call, CallOptions, Client};
use fastrpc_codec::Raw;
use fastrpc_plugins::metrics::{MeteredCall, PrometheusExporter, ServerMetrics};
use fastrpc_server::{Context, Server, ServerBuilder, ServiceError};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 64;
const ROUND: Duration = Duration::from_secs(3);

fn echo() -> ServerBuilder {
    Server::builder().handler("Echo", "Echo", |_c: Context, p: Raw| async move {
        Ok::<_, ServiceError>(p)
    })
}

/// Calls per second of `CONCURRENCY` callers over one connection for `ROUND`.
async fn calls_per_sec<C: Call + Send + Sync + 'static>(client: Arc<C>) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let args = Raw::from(&[1u8; 64][..]);
                let mut n = 0u64;
                while start.elapsed() < ROUND {
                    client
                        .invoke::<Raw, Raw>("Echo", "Echo", &args, CallOptions::default())
                        .await
                        .map_err(|e| e.to_string())
                        .unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
async fn metrics_overhead_side_by_side() {
    PrometheusExporter::new().install().unwrap();
    let plain = echo().build().serve_tcp("127.0.0.1:0").await.unwrap();
    let metered = echo()
        .plugin(ServerMetrics::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let plain_client = Arc::new(
        Client::connect(&plain.local_addr().to_string())
            .await
            .unwrap(),
    );
    let metered_client = Arc::new(MeteredCall::new(
        Client::connect(&metered.local_addr().to_string())
            .await
            .unwrap(),
    ));
    // Warm up both, then alternate rounds so that machine noise hits both alike.
    calls_per_sec(plain_client.clone()).await;
    calls_per_sec(metered_client.clone()).await;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        a.push(calls_per_sec(plain_client.clone()).await);
        b.push(calls_per_sec(metered_client.clone()).await);
    }
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    println!(
        "plain: {:.0} calls/s (rounds {:?}); metrics on server and client: {:.0} calls/s (rounds {:?}); cost {:.1}%",
        best(&a),
        a.iter().map(|x| *x as u64).collect::<Vec<_>>(),
        best(&b),
        b.iter().map(|x| *x as u64).collect::<Vec<_>>(),
        (1.0 - best(&b) / best(&a)) * 100.0
    );
}
