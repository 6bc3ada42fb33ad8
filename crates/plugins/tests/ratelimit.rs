//! Rate limits over real sockets.

use fastrpc_client::{Call, CallOptions, Client, ClientOptions};
use fastrpc_codec::Raw;
use fastrpc_plugins::ratelimit::{
    AcceptRateLimit, LimitedCall, LimitedCallError, Limiter, Rate, RequestRateLimit, WaitRateLimit,
};
use fastrpc_server::{
    BoxFuture, Context, Handler, HandlerResult, Server, ServerBuilder, ServerPlugin, Service,
    ServiceError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

fn echo(builder: ServerBuilder) -> ServerBuilder {
    let h = |_c: Context, p: Raw| async move { Ok::<_, ServiceError>(p) };
    builder
        .handler("Echo", "Echo", h)
        .handler("Echo", "Limited", h)
        .handler("Other", "Echo", h)
}

async fn call(client: &Client, service: &'static str, method: &'static str) -> Result<Raw, String> {
    client
        .call::<Raw, Raw>(service, method, &Raw::from(&b"x"[..]))
        .await
        .map_err(|e| match e.as_remote_error() {
            Some(r) => r.message.clone(),
            None => format!("not a remote error: {e}"),
        })
}

#[tokio::test]
async fn a_method_past_its_rate_gets_rpcx_text_and_the_connection_keeps_working() {
    let limit = RequestRateLimit::new().method("Echo", "Limited", Rate::per(2, HOUR));
    let srv = echo(Server::builder()).plugin(limit).build();
    let srv = srv.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(&call(&client, "Echo", "Limited").await.unwrap()[..], b"x");
    }
    let refused = call(&client, "Echo", "Limited").await.unwrap_err();
    assert_eq!(refused, "request reached rate limit");
    // Other methods on the same connection are untouched, and the connection is open.
    for _ in 0..5 {
        assert_eq!(&call(&client, "Echo", "Echo").await.unwrap()[..], b"x");
    }
    assert!(!client.is_closed());
    assert_eq!(
        call(&client, "Echo", "Limited").await.unwrap_err(),
        "request reached rate limit"
    );
}

#[tokio::test]
async fn service_and_global_buckets_apply_across_connections() {
    let limit = RequestRateLimit::new()
        .service("Other", Rate::per(1, HOUR))
        .global(Rate::per(4, HOUR));
    let srv = echo(Server::builder()).plugin(limit).build();
    let srv = srv.serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.local_addr().to_string();
    let a = Client::connect(&addr).await.unwrap();
    let b = Client::connect(&addr).await.unwrap();
    call(&a, "Other", "Echo").await.unwrap();
    // The service bucket is shared by every connection.
    assert_eq!(
        call(&b, "Other", "Echo").await.unwrap_err(),
        "request reached rate limit"
    );
    // Global: 4 tokens, 1 used so far (the refused request stopped at the service bucket,
    // which is checked before the global one).
    call(&a, "Echo", "Echo").await.unwrap();
    call(&b, "Echo", "Echo").await.unwrap();
    call(&a, "Echo", "Echo").await.unwrap();
    assert_eq!(
        call(&b, "Echo", "Echo").await.unwrap_err(),
        "request reached rate limit"
    );
    assert!(!a.is_closed() && !b.is_closed());
}

#[tokio::test]
async fn the_accept_bucket_refuses_connections_once_empty() {
    let srv = echo(Server::builder())
        .plugin(AcceptRateLimit::new(Rate::per(2, HOUR)))
        .build();
    let srv = srv.serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.local_addr().to_string();
    let a = Client::connect(&addr).await.unwrap();
    let b = Client::connect(&addr).await.unwrap();
    call(&a, "Echo", "Echo").await.unwrap();
    call(&b, "Echo", "Echo").await.unwrap();
    // The third TCP connect succeeds (the kernel accepts it) but the server closes it at once.
    let c = Client::connect_with(
        &addr,
        ClientOptions::default().default_timeout(Some(Duration::from_secs(20))),
    )
    .await
    .unwrap();
    let err = c
        .call::<Raw, Raw>("Echo", "Echo", &Raw::from(&b"x"[..]))
        .await
        .unwrap_err();
    assert!(err.is_connection_error(), "{err}");
    // The first two are still served.
    call(&a, "Echo", "Echo").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_limit_delays_calls_instead_of_failing() {
    // One token per 200 ms, bucket of 1: three calls take at least 400 ms, and none fails.
    let limiter = Limiter::new(Rate::per(1, Duration::from_millis(200)));
    let srv = Server::builder()
        .service(WaitRateLimit::new(EchoService, limiter))
        .build();
    let srv = srv.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let start = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(
            &call(&client, "EchoService", "Echo").await.unwrap()[..],
            b"x"
        );
    }
    // A lower bound only: the bucket must have made the calls wait.
    assert!(
        start.elapsed() >= Duration::from_millis(390),
        "{:?}",
        start.elapsed()
    );
}

struct EchoService;

struct EchoHandler;

impl Handler for EchoHandler {
    fn call(&self, _ctx: Context, payload: bytes::Bytes) -> BoxFuture<HandlerResult> {
        Box::pin(async move { Ok(payload) })
    }
}

impl Service for EchoService {
    fn service_name(&self) -> &str {
        "EchoService"
    }
    fn methods(self: Arc<Self>) -> Vec<(String, Arc<dyn Handler>)> {
        vec![("Echo".to_owned(), Arc::new(EchoHandler))]
    }
}

#[tokio::test]
async fn the_client_limit_fails_fast_with_a_typed_error() {
    let reached = Arc::new(AtomicUsize::new(0));
    let seen = reached.clone();
    let srv = echo(Server::builder()).plugin(CountCalls(seen)).build();
    let srv = srv.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let limited = LimitedCall::new(client).method("Echo", "Limited", Rate::per(1, HOUR));
    let args = Raw::from(&b"x"[..]);
    let ok = limited
        .invoke::<Raw, Raw>("Echo", "Limited", &args, CallOptions::default())
        .await
        .unwrap();
    assert_eq!(&ok.value[..], b"x");
    let err = limited
        .invoke::<Raw, Raw>("Echo", "Limited", &args, CallOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert!(
        matches!(err, LimitedCallError::RateLimited { ref service, ref method } if service == "Echo" && method == "Limited")
    );
    // Nothing reached the server: its unlimited methods still work through the same wrapper.
    limited
        .invoke::<Raw, Raw>("Echo", "Echo", &args, CallOptions::default())
        .await
        .unwrap();
    assert_eq!(reached.load(Ordering::SeqCst), 2);
}

/// Counts the requests that reach the server.
struct CountCalls(Arc<AtomicUsize>);

impl ServerPlugin for CountCalls {
    fn pre_handle_request(&self, _ctx: &Context) -> Result<(), ServiceError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
