//! OpenTelemetry over real sockets, recorded by the SDK's in-memory exporter: one trace across
//! a client, a server that calls a second server, and that second server, with the parent
//! links right, and `traceparent`/`tracestate` in the request metadata on the wire.

#![cfg(feature = "otel")]

use fastrpc_client::{Call, CallOptions, Client};
use fastrpc_codec::Raw;
use fastrpc_core::{Message, ProtocolError};
use fastrpc_plugins::otel::{ServerTracing, TracedCall};
use fastrpc_server::{
    Connection, Context, PluginError, Server, ServerHandle, ServerPlugin, ServiceError,
};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    TracerProvider as _,
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// The exporter every test of this binary records into (one global subscriber); each test
/// looks only at its own trace.
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();
    &EXPORTER
        .get_or_init(|| {
            let exporter = InMemorySpanExporter::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("fastrpc-test"));
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::set_global_default(subscriber).unwrap();
            (exporter, provider)
        })
        .0
}

/// Waits until `n` spans of `trace` were exported.
async fn spans_of(trace: TraceId, n: usize) -> Vec<SpanData> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let spans: Vec<SpanData> = exporter()
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect();
        if spans.len() >= n {
            return spans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} spans exported: {spans:#?}",
            spans.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn find<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.span_kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} span {name}: {spans:#?}"))
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// A request's `service/method`, `traceparent` and `tracestate`, as read off the wire.
type Seen = (String, Option<String>, Option<String>);

/// Records the trace context metadata of every request as read off the wire.
#[derive(Clone, Default)]
struct WireTap(Arc<Mutex<Vec<Seen>>>);

impl ServerPlugin for WireTap {
    fn post_read_request(
        &self,
        _conn: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        if let Ok(m) = msg {
            let get = |k: &str| m.metadata.get(k).map(str::to_owned);
            let name = format!("{}/{}", m.service_path, m.service_method);
            self.0
                .lock()
                .unwrap()
                .push((name, get("traceparent"), get("tracestate")));
        }
        Ok(())
    }
}

/// `Back.Echo`, traced and tapped.
async fn back(tap: &WireTap) -> ServerHandle {
    Server::builder()
        .handler("Back", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(tap.clone())
        .plugin(ServerTracing::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap()
}

/// `Front.Call`, traced, which calls `Back.<method>` through a traced client.
async fn front(back: TracedCall<Client>, method: &'static str) -> ServerHandle {
    let back = Arc::new(back);
    Server::builder()
        .handler("Front", "Call", move |_c: Context, p: Raw| {
            let back = back.clone();
            async move {
                back.invoke::<Raw, Raw>("Back", method, &p, CallOptions::default())
                    .await
                    .map(|r| r.value)
                    .map_err(|e| ServiceError::new(e.to_string()))
            }
        })
        .plugin(ServerTracing::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap()
}

/// A root span continuing a remote trace with a trace state, so both fields travel.
fn root_span(trace: TraceId) -> tracing::Span {
    let remote = SpanContext::new(
        trace,
        SpanId::from_bytes([7; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "v1")]).unwrap(),
    );
    let root = tracing::info_span!("test.root");
    root.set_parent(opentelemetry::Context::new().with_remote_span_context(remote))
        .unwrap();
    root
}

/// A traced client calling the front server, which calls `method` on the back server.
struct Chain {
    tap: WireTap,
    back: ServerHandle,
    front: ServerHandle,
    client: TracedCall<Client>,
}

impl Chain {
    async fn start(method: &'static str) -> Chain {
        exporter();
        let tap = WireTap::default();
        let back_srv = back(&tap).await;
        let to_back = TracedCall::new(Client::connect(back_srv.addr()).await.unwrap());
        let front_srv = front(to_back, method).await;
        let client = TracedCall::new(Client::connect(front_srv.addr()).await.unwrap());
        Chain {
            tap,
            back: back_srv,
            front: front_srv,
            client,
        }
    }

    /// `Front.Call("hi")` inside a root span of `trace`. The client span is opened when
    /// `invoke` is called: inside the root span.
    async fn call_in(&self, trace: TraceId) -> Result<Raw, fastrpc_client::ClientError> {
        let root = root_span(trace);
        let call = async {
            let args = Raw::from(&b"hi"[..]);
            self.client
                .invoke::<Raw, Raw>("Front", "Call", &args, CallOptions::default())
                .await
        };
        call.instrument(root).await.map(|r| r.value)
    }

    async fn shutdown(self) {
        self.front.shutdown(Duration::from_secs(5)).await;
        self.back.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_crosses_client_front_and_back() {
    let chain = Chain::start("Echo").await;
    let trace = TraceId::from_bytes([0x4b; 16]);
    let reply = chain.call_in(trace).await.unwrap();
    assert_eq!(&reply[..], b"hi");

    let spans = spans_of(trace, 5).await;
    assert_eq!(spans.len(), 5, "{spans:#?}");
    let root = find(&spans, "test.root", SpanKind::Internal);
    let client_front = find(&spans, "Front/Call", SpanKind::Client);
    let server_front = find(&spans, "Front/Call", SpanKind::Server);
    let client_back = find(&spans, "Back/Echo", SpanKind::Client);
    let server_back = find(&spans, "Back/Echo", SpanKind::Server);
    let id = |s: &SpanData| s.span_context.span_id();
    assert_eq!(root.parent_span_id, SpanId::from_bytes([7; 8]));
    assert_eq!(client_front.parent_span_id, id(root));
    assert_eq!(server_front.parent_span_id, id(client_front));
    assert_eq!(client_back.parent_span_id, id(server_front));
    assert_eq!(server_back.parent_span_id, id(client_back));

    for s in [client_front, server_front, client_back, server_back] {
        assert_eq!(attr(s, "rpc.system").as_deref(), Some("rpcx"), "{s:#?}");
        assert_eq!(s.status, Status::Unset, "{s:#?}");
    }
    assert_eq!(attr(server_back, "rpc.service").as_deref(), Some("Back"));
    assert_eq!(attr(server_back, "rpc.method").as_deref(), Some("Echo"));
    assert_eq!(attr(client_front, "rpc.service").as_deref(), Some("Front"));
    assert_eq!(attr(client_front, "rpc.method").as_deref(), Some("Call"));

    // On the wire to the second server: the W3C context of the client span that called it.
    let seen = chain.tap.0.lock().unwrap().clone();
    let expected = format!("00-{}-{}-01", trace, id(client_back));
    assert_eq!(
        seen,
        vec![(
            "Back/Echo".to_owned(),
            Some(expected),
            Some("vendor=v1".to_owned())
        )]
    );
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_set_the_span_status() {
    let chain = Chain::start("Nope").await;
    let trace = TraceId::from_bytes([0x5c; 16]);
    let err = chain.call_in(trace).await.unwrap_err();
    assert!(err.to_string().contains("can't find method Nope"), "{err}");

    let spans = spans_of(trace, 5).await;
    let server_back = find(&spans, "Back/Nope", SpanKind::Server);
    let Status::Error { description } = &server_back.status else {
        panic!("{server_back:#?}");
    };
    assert_eq!(&**description, "rpcx: can't find method Nope");
    for (name, kind) in [
        ("Back/Nope", SpanKind::Client),
        ("Front/Call", SpanKind::Server),
        ("Front/Call", SpanKind::Client),
    ] {
        let s = find(&spans, name, kind);
        assert!(matches!(s.status, Status::Error { .. }), "{s:#?}");
    }
    chain.shutdown().await;
}
