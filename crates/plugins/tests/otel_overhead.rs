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

#[path = "support/side_by_side.rs"]
mod side_by_side;

use fastrpc_client::Client;
use fastrpc_plugins::otel::{ServerTracing, TracedCall};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use side_by_side::{compare, echo};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

/// Counts the spans it is given and drops them.
#[derive(Debug, Default)]
struct Discard(Arc<AtomicU64>);

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
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
    let c = compare(plain_client, traced_client).await;
    provider.force_flush().unwrap();
    println!(
        "{}; {} spans exported",
        c.report("tracing on server and client"),
        exported.load(Ordering::Relaxed)
    );
}
