//! [`ServerTracing`]: a server span per call, its parent taken from the request metadata.

use super::carrier::MetadataExtractor;
use super::{SharedPropagator, TARGET, w3c};
use fastrpc_server::{Context, HandlerResult, ServerPlugin};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use std::sync::Arc;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A server plugin that opens an OpenTelemetry server span for each call (see the
/// [module docs](super)).
#[derive(Clone)]
pub struct ServerTracing {
    propagator: SharedPropagator,
}

impl std::fmt::Debug for ServerTracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTracing").finish_non_exhaustive()
    }
}

impl Default for ServerTracing {
    fn default() -> Self {
        ServerTracing { propagator: w3c() }
    }
}

impl ServerTracing {
    /// Takes the parent from W3C `traceparent`/`tracestate` metadata.
    pub fn new() -> ServerTracing {
        ServerTracing::default()
    }

    /// Takes the parent with another propagator (B3, Jaeger, a composite).
    pub fn with_propagator<P: TextMapPropagator + Send + Sync + 'static>(
        mut self,
        propagator: P,
    ) -> ServerTracing {
        self.propagator = Arc::new(propagator);
        self
    }
}

impl ServerPlugin for ServerTracing {
    fn traces_calls(&self) -> bool {
        true
    }

    fn call_span(&self, ctx: &Context) -> Option<tracing::Span> {
        let (service, method) = (ctx.service_path(), ctx.service_method());
        let span = tracing::info_span!(
            target: TARGET,
            "rpc.server",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            otel.status_code = Empty,
            otel.status_description = Empty,
            rpc.system = super::RPC_SYSTEM,
            rpc.service = service,
            rpc.method = method,
            network.peer.address = ctx.peer_addr(),
        );
        if !span.is_disabled() {
            let parent = self.propagator.extract(&MetadataExtractor(ctx.metadata()));
            if parent.span().span_context().is_valid() {
                let _ = span.set_parent(parent);
            }
        }
        Some(span)
    }

    fn post_call(&self, _ctx: &Context, result: &HandlerResult) {
        // Runs inside the span from `call_span`.
        if let Err(e) = result {
            let span = tracing::Span::current();
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_description", e.message());
        }
    }
}
