//! OpenTelemetry tracing across two servers: a client calls `Front.Call`, whose handler calls
//! `Back.Echo`; the four spans share one trace, linked through `traceparent` metadata. The
//! spans are collected by the SDK's in-memory exporter and printed; in production, install an
//! OTLP exporter instead (see docs/PLUGINS.md). Needs no external service.
//!
//!     cargo run -p fastrpc --features otel --example tracing_otel

use fastrpc::plugins::otel::opentelemetry::trace::TracerProvider as _;
use fastrpc::plugins::otel::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use fastrpc::plugins::otel::{ServerTracing, TracedCall, tracing_opentelemetry};
use fastrpc::{Call, CallOptions, Client, Context, Raw, Server, ServiceError};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Spans go from `tracing` to OpenTelemetry through tracing-opentelemetry's layer.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("example"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;

    let back = Server::builder()
        .handler("Back", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(ServerTracing::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await?;
    let to_back = Arc::new(TracedCall::new(Client::connect(back.addr()).await?));
    let front = Server::builder()
        .handler("Front", "Call", move |_c: Context, p: Raw| {
            let to_back = to_back.clone();
            // The handler runs inside the server span: this call becomes its child.
            async move {
                let reply = to_back
                    .invoke::<Raw, Raw>("Back", "Echo", &p, CallOptions::default())
                    .await
                    .map_err(|e| ServiceError::new(e.to_string()))?;
                Ok::<_, ServiceError>(reply.value)
            }
        })
        .plugin(ServerTracing::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await?;

    let client = TracedCall::new(Client::connect(front.addr()).await?);
    client
        .invoke::<Raw, Raw>(
            "Front",
            "Call",
            &Raw::from(&b"hi"[..]),
            CallOptions::default(),
        )
        .await?;
    front.shutdown(Duration::from_secs(5)).await;
    back.shutdown(Duration::from_secs(5)).await;

    provider.force_flush()?;
    for span in exporter.get_finished_spans()? {
        println!(
            "trace {} span {} parent {} {:?} {}",
            span.span_context.trace_id(),
            span.span_context.span_id(),
            span.parent_span_id,
            span.span_kind,
            span.name
        );
    }
    Ok(())
}
