//! tower layers around handlers, over real sockets.

use bytes::Bytes;
use fastrpc_client::{Call, CallOptions, Client};
use fastrpc_codec::Raw;
use fastrpc_plugins::layer::{LayeredService, Request, layer_handler};
use fastrpc_server::{
    BoxFuture, Context, Handler, HandlerResult, Server, Service, ServiceError, handler_fn,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;

/// A user's own layer: marks each reply with response metadata and counts the calls.
#[derive(Clone)]
struct MarkLayer(Arc<AtomicUsize>);

impl<S> tower::Layer<S> for MarkLayer {
    type Service = Mark<S>;
    fn layer(&self, inner: S) -> Mark<S> {
        Mark {
            inner,
            seen: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Mark<S> {
    inner: S,
    seen: Arc<AtomicUsize>,
}

impl<S> tower::Service<Request> for Mark<S>
where
    S: tower::Service<Request, Response = Bytes>,
    S::Future: Send + 'static,
{
    type Response = Bytes;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> S::Future {
        self.seen.fetch_add(1, Ordering::SeqCst);
        req.ctx.set_response_metadata("x-layer", "mark");
        self.inner.call(req)
    }
}

/// A slow method that records how many of its calls run at once.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

fn slow_handler(g: Gauge) -> Arc<dyn Handler> {
    handler_fn(move |_c: Context, p: Raw| {
        let g = g.clone();
        async move {
            let n = g.now.fetch_add(1, Ordering::SeqCst) + 1;
            g.max.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(150)).await;
            g.now.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ServiceError>(p)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_limit_and_a_custom_layer_both_act() {
    let gauge = Gauge::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let stack = ServiceBuilder::new()
        .layer(MarkLayer(seen.clone()))
        .layer(ConcurrencyLimitLayer::new(2));
    let srv = Server::builder()
        .raw_handler(
            "Slow",
            "Echo",
            layer_handler(slow_handler(gauge.clone()), &stack),
        )
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = Arc::new(
        Client::connect(&srv.local_addr().to_string())
            .await
            .unwrap(),
    );
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let args = Raw::from(vec![i as u8]);
                client
                    .invoke::<Raw, Raw>("Slow", "Echo", &args, CallOptions::default())
                    .await
                    .unwrap()
            })
        })
        .collect();
    for (i, c) in calls.into_iter().enumerate() {
        let reply = c.await.unwrap();
        assert_eq!(&reply.value[..], &[i as u8]);
        assert_eq!(reply.metadata.get("x-layer"), Some("mark"));
    }
    assert_eq!(seen.load(Ordering::SeqCst), 6);
    // Six calls of 150 ms were sent at once; the limit let at most two run together.
    assert_eq!(gauge.max.load(Ordering::SeqCst), 2);
}

struct Errors;

impl Service for Errors {
    fn service_name(&self) -> &str {
        "Errors"
    }
    fn methods(self: Arc<Self>) -> Vec<(String, Arc<dyn Handler>)> {
        vec![("Fail".to_owned(), Arc::new(Fail))]
    }
}

struct Fail;

impl Handler for Fail {
    fn call(&self, _ctx: Context, _payload: Bytes) -> BoxFuture<HandlerResult> {
        Box::pin(async { Err(ServiceError::new("the method's own text")) })
    }
}

#[tokio::test]
async fn a_layered_service_keeps_the_methods_errors() {
    let seen = Arc::new(AtomicUsize::new(0));
    let srv = Server::builder()
        .service(LayeredService::new(Errors, MarkLayer(seen.clone())))
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let err = client
        .call::<Raw, Raw>("Errors", "Fail", &Raw::from(&b""[..]))
        .await
        .unwrap_err();
    assert_eq!(
        err.as_remote_error().unwrap().message,
        "the method's own text"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}
