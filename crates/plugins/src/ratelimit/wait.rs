//! [`WaitRateLimit`]: a service whose methods wait for a token instead of failing.

use super::Limiter;
use bytes::Bytes;
use fastrpc_server::{BoxFuture, Context, Handler, HandlerResult, Service};
use std::sync::Arc;

/// Wraps a service so that each call waits for a token from a shared bucket before its
/// method runs (rpcx's "wait" flavour of request limiting).
///
/// The wait happens inside the call, so the request counts as in flight (and against the
/// connection's concurrency limit) while it waits: the server's own bounds keep applying, and
/// a `__ServerTimeout` deadline cuts the wait short. Register it with `ServerBuilder::service`.
pub struct WaitRateLimit<S> {
    inner: Arc<S>,
    limiter: Limiter,
}

impl<S> WaitRateLimit<S> {
    /// `service`, with every method taking a token from `limiter` first.
    pub fn new(service: S, limiter: Limiter) -> WaitRateLimit<S> {
        WaitRateLimit {
            inner: Arc::new(service),
            limiter,
        }
    }
}

impl<S: Service> Service for WaitRateLimit<S> {
    fn service_name(&self) -> &str {
        self.inner.service_name()
    }

    fn methods(self: Arc<Self>) -> Vec<(String, Arc<dyn Handler>)> {
        let limiter = &self.limiter;
        self.inner
            .clone()
            .methods()
            .into_iter()
            .map(|(name, inner)| {
                let h: Arc<dyn Handler> = Arc::new(Waiting {
                    inner,
                    limiter: limiter.clone(),
                });
                (name, h)
            })
            .collect()
    }
}

/// One method behind a bucket.
struct Waiting {
    inner: Arc<dyn Handler>,
    limiter: Limiter,
}

impl Handler for Waiting {
    fn call(&self, ctx: Context, payload: Bytes) -> BoxFuture<HandlerResult> {
        let inner = self.inner.clone();
        let limiter = self.limiter.clone();
        Box::pin(async move {
            limiter.acquire().await;
            inner.call(ctx, payload).await
        })
    }
}

/// Wraps one handler (for `ServerBuilder::raw_handler`) so it waits for a token first.
pub fn wait_handler(handler: Arc<dyn Handler>, limiter: Limiter) -> Arc<dyn Handler> {
    Arc::new(Waiting {
        inner: handler,
        limiter,
    })
}
