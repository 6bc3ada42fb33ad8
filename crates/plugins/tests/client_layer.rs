//! tower layers around client calls, over real sockets: tower's concurrency limit and a
//! user's own layer (which adds request metadata) both act on calls made through `Call`.

use fastrpc_client::{Call, CallOptions, Client, ErrorKind};
use fastrpc_plugins::layer::{CallRequest, CallService, LayeredCall};
use fastrpc_server::{Context, Server, ServiceError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;

#[derive(Serialize, Deserialize)]
struct Args {
    a: i64,
    b: i64,
}

/// A user's own client layer: counts calls and tags each request with `layer=tag` metadata.
#[derive(Clone)]
struct TagLayer(Arc<AtomicUsize>);

impl<S> tower::Layer<S> for TagLayer {
    type Service = Tag<S>;
    fn layer(&self, inner: S) -> Tag<S> {
        Tag {
            inner,
            seen: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Tag<S> {
    inner: S,
    seen: Arc<AtomicUsize>,
}

impl<S: tower::Service<CallRequest>> tower::Service<CallRequest> for Tag<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: CallRequest) -> S::Future {
        self.seen.fetch_add(1, Ordering::SeqCst);
        req.opts.metadata.insert("layer", "tag");
        self.inner.call(req)
    }
}

/// `Arith.Mul` sleeps 50 ms, records the most calls it saw at once, and fails unless the
/// request carries the tag.
async fn server(now: Arc<AtomicUsize>, most: Arc<AtomicUsize>) -> fastrpc_server::ServerHandle {
    Server::builder()
        .handler("Arith", "Mul", move |ctx: Context, a: Args| {
            let (now, most) = (now.clone(), most.clone());
            async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                if ctx.metadata().get("layer") != Some("tag") {
                    return Err(ServiceError::new("untagged"));
                }
                Ok::<_, ServiceError>(a.a * a.b)
            }
        })
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_limit_and_a_custom_layer_both_act_on_client_calls() {
    let (now, most) = (Arc::default(), Arc::new(AtomicUsize::new(0)));
    let srv = server(now, most.clone()).await;
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let stack = ServiceBuilder::new()
        .layer(TagLayer(seen.clone()))
        .layer(ConcurrencyLimitLayer::new(2))
        .service(CallService::new(client));
    let layered = Arc::new(LayeredCall::from_service(stack));

    let calls: Vec<_> = (0..10i64)
        .map(|i| {
            let c = layered.clone();
            tokio::spawn(async move {
                c.invoke::<Args, i64>("Arith", "Mul", &Args { a: i, b: 3 }, CallOptions::default())
                    .await
                    .map(|r| r.value)
            })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap().unwrap(), i as i64 * 3);
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        10,
        "the custom layer saw every call"
    );
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 2, "the limit let {most} calls run at once");
    assert!(most >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_own_errors_come_back_through_the_layers() {
    let srv = server(Arc::default(), Arc::default()).await;
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    // No tag layer: the server refuses; the error is the client's, typed.
    let layered = LayeredCall::new(CallService::new(client), ConcurrencyLimitLayer::new(4));
    let err = layered
        .invoke::<Args, i64>("Arith", "Mul", &Args { a: 1, b: 2 }, CallOptions::default())
        .await
        .unwrap_err();
    let client_err = err.client_error().expect("the client's own error");
    assert_eq!(client_err.kind(), ErrorKind::Remote);
    assert!(err.to_string().contains("untagged"), "{err}");
    // A layer's own error (tower's timeout) is not a client error.
    let slow = LayeredCall::from_service(
        ServiceBuilder::new()
            .timeout(Duration::from_millis(5))
            .service(CallService::new(
                Client::connect(&srv.local_addr().to_string())
                    .await
                    .unwrap(),
            )),
    );
    let err = slow
        .invoke::<Args, i64>("Arith", "Mul", &Args { a: 1, b: 2 }, CallOptions::default())
        .await
        .unwrap_err();
    assert!(err.client_error().is_none(), "{err}");
}
