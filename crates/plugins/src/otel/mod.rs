//! OpenTelemetry tracing: a server span per call and a client span per call, following
//! OpenTelemetry's RPC semantic conventions, with W3C trace context carried in the rpcx
//! request metadata.
//!
//! Spans are `tracing` spans; the [`tracing-opentelemetry`](tracing_opentelemetry) layer turns
//! them into OpenTelemetry spans and gives them to whatever tracer the application installed
//! (an OTLP exporter, stdout, the SDK's in-memory exporter in tests). Building on `tracing`
//! keeps one instrumentation for logs and traces, which is what the Rust ecosystem (tower,
//! tonic, hyper) does; `tracing-opentelemetry`, `opentelemetry` and `opentelemetry_sdk` are
//! the OpenTelemetry project's own crates, in versions that agree with each other.
//!
//! - [`ServerTracing`], a server plugin: opens an `rpc.server` span (kind server) for each
//!   call, whose parent is the caller's span when the request carries `traceparent` (and
//!   `tracestate`) metadata. The method runs inside it, so a call the method makes through a
//!   [`TracedCall`] becomes its child.
//! - [`TracedCall`], a wrapper around any `Call` (a `Client`, an `XClient`): opens an
//!   `rpc.client` span (kind client), child of the current span, and injects its context into
//!   the request metadata as `traceparent`/`tracestate`.
//!
//! Both carry `rpc.system = "rpcx"`, `rpc.service`, `rpc.method` and the span name
//! `service/method`; an error sets the span status to error with the error's text. This is the
//! metadata layout of the Go rpcx OpenTelemetry plugins (the W3C propagator over the request
//! metadata map), so a trace crosses Go and Rust services.
//!
//! Spans are at `INFO` level under the target `fastrpc::otel`: a subscriber filter can turn
//! them off without removing the plugin.

mod carrier;
mod client;
mod server;

pub use carrier::{MetadataExtractor, MetadataInjector};
pub use client::TracedCall;
pub use server::ServerTracing;

/// The OpenTelemetry crates these spans are built with, in the versions that agree with
/// each other: set up a tracer provider and the `tracing` layer with these.
pub use {opentelemetry, opentelemetry_sdk, tracing_opentelemetry};

use opentelemetry::propagation::TextMapPropagator;
use std::sync::Arc;

/// The tracing target of fastrpc's OpenTelemetry spans.
pub const TARGET: &str = "fastrpc::otel";

/// The value of `rpc.system`.
pub const RPC_SYSTEM: &str = "rpcx";

/// A propagator shared by clones of a plugin or wrapper.
pub(crate) type SharedPropagator = Arc<dyn TextMapPropagator + Send + Sync>;

/// The W3C trace context propagator (`traceparent`, `tracestate`), rpcx's default.
pub(crate) fn w3c() -> SharedPropagator {
    Arc::new(opentelemetry_sdk::propagation::TraceContextPropagator::new())
}
