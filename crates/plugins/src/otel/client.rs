//! [`TracedCall`]: a client span per call around anything that implements `Call`, with its
//! context injected into the request metadata.

use super::carrier::MetadataInjector;
use super::{SharedPropagator, TARGET, w3c};
use fastrpc_client::{Call, CallOptions, Payload, Reply};
use opentelemetry::propagation::TextMapPropagator;
use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Wraps a `Client`, an `XClient` or any other [`Call`] and traces each call: an `rpc.client`
/// span, child of the current span, whose context travels in the request metadata
/// (`traceparent`, `tracestate`) to the server.
///
/// The span is opened when `invoke` is called, so its parent is the span current at that
/// moment: inside a handler of a server with [`ServerTracing`](super::ServerTracing), the
/// server span of the call being served.
#[derive(Clone)]
pub struct TracedCall<C> {
    inner: C,
    propagator: SharedPropagator,
}

impl<C: std::fmt::Debug> std::fmt::Debug for TracedCall<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedCall")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<C> TracedCall<C> {
    /// Traces the calls made through `inner`, propagating W3C trace context.
    pub fn new(inner: C) -> TracedCall<C> {
        TracedCall {
            inner,
            propagator: w3c(),
        }
    }

    /// Propagates with another propagator (B3, Jaeger, a composite).
    pub fn with_propagator<P: TextMapPropagator + Send + Sync + 'static>(
        mut self,
        propagator: P,
    ) -> TracedCall<C> {
        self.propagator = Arc::new(propagator);
        self
    }

    /// The wrapped caller.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: Call> Call for TracedCall<C> {
    type Error = C::Error;

    fn invoke<A, R>(
        &self,
        service: &str,
        method: &str,
        args: &A,
        mut opts: CallOptions,
    ) -> impl Future<Output = Result<Reply<R>, Self::Error>> + Send
    where
        A: Payload + Sync,
        R: Payload,
    {
        let span = tracing::info_span!(
            target: TARGET,
            "rpc.client",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "client",
            otel.status_code = Empty,
            otel.status_description = Empty,
            rpc.system = super::RPC_SYSTEM,
            rpc.service = service,
            rpc.method = method,
        );
        if !span.is_disabled() {
            let cx = span.context();
            self.propagator
                .inject_context(&cx, &mut MetadataInjector(&mut opts.metadata));
        }
        let call = span.in_scope(|| self.inner.invoke(service, method, args, opts));
        async move {
            let result = call.instrument(span.clone()).await;
            if let Err(e) = &result {
                span.record("otel.status_code", "ERROR");
                span.record("otel.status_description", tracing::field::display(e));
            }
            result
        }
    }
}
