//! The cost of OpenTelemetry tracing, side by side in one run (ignored by default; a
//! measurement, not a check):
//!
//! `cargo test --release -p fastrpc-plugins --test otel_overhead -- --ignored --nocapture`
//! (with `FASTRPC_OTEL_LEAN=1` for a layer without per-span location and thread attributes)
//!
//! Both servers run under the same subscriber: `tracing-opentelemetry`'s layer (INFO and up)
//! over an SDK tracer provider with a batch exporter that counts and drops the spans, so the
//! figure is fastrpc's and the SDK's cost per call, not an exporter's network I/O.

#![cfg(feature = "otel")]

use fastrpc_client::{Call, CallOptions, Client};
use fastrpc_codec::Raw;
use fastrpc_plugins::otel::{ServerTracing, TracedCall};
use fastrpc_server::{Context, Server, ServerBuilder, ServiceError};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

const CONCURRENCY: usize = 64;
const ROUND: Duration = Duration::from_secs(3);

/// Counts the spans it is given and drops them.
#[derive(Debug, Default)]
struct Discard(Arc<AtomicU64>);

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

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
async fn tracing_overhead_side_by_side() {
    let exported = Arc::new(AtomicU64::new(0));
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(Discard(exported.clone()))
        .build();
    // `FASTRPC_OTEL_LEAN=1`: without the source location, thread and busy/idle time
    // attributes `tracing-opentelemetry` adds to every span by default.
    let lean = std::env::var("FASTRPC_OTEL_LEAN").is_ok_and(|v| v == "1");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("overhead"))
        .with_location(!lean)
        .with_threads(!lean)
        .with_tracked_inactivity(!lean)
        .with_filter(LevelFilter::INFO);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();

    let plain = echo().build().serve_tcp("127.0.0.1:0").await.unwrap();
    let traced = echo()
        .plugin(ServerTracing::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let plain_client = Arc::new(Client::connect(plain.addr()).await.unwrap());
    let traced_client = Arc::new(TracedCall::new(
        Client::connect(traced.addr()).await.unwrap(),
    ));
    // Warm up both, then alternate rounds so that machine noise hits both alike.
    calls_per_sec(plain_client.clone()).await;
    calls_per_sec(traced_client.clone()).await;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        a.push(calls_per_sec(plain_client.clone()).await);
        b.push(calls_per_sec(traced_client.clone()).await);
    }
    provider.force_flush().unwrap();
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    println!(
        "plain: {:.0} calls/s (rounds {:?}); tracing on server and client: {:.0} calls/s (rounds {:?}); cost {:.1}%; {} spans exported",
        best(&a),
        a.iter().map(|x| *x as u64).collect::<Vec<_>>(),
        best(&b),
        b.iter().map(|x| *x as u64).collect::<Vec<_>>(),
        (1.0 - best(&b) / best(&a)) * 100.0,
        exported.load(Ordering::Relaxed)
    );
}
