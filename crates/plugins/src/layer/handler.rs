//! A handler as a tower service, and back.

use super::BoxError;
use bytes::Bytes;
use fastrpc_server::{BoxFuture, Context, Handler, HandlerResult, ServiceError};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower_layer::Layer;
use tower_service::Service as TowerService;

/// What a layered handler receives: the call's context and its (undecoded) argument payload.
#[derive(Debug, Clone)]
pub struct Request {
    /// The call's context (service, method, metadata, deadline, connection).
    pub ctx: Context,
    /// The argument payload, in `ctx.serialize_type()`.
    pub payload: Bytes,
}

/// A service method's own error, as a `std::error::Error` so that tower's layers can box it;
/// it goes back to the caller unchanged.
#[derive(Debug)]
pub struct HandlerError(pub ServiceError);

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for HandlerError {}

/// A fastrpc handler as a `tower::Service` (always ready; cheap to clone).
#[derive(Clone)]
pub struct HandlerService {
    handler: Arc<dyn Handler>,
}

impl HandlerService {
    /// `handler` as a tower service.
    pub fn new(handler: Arc<dyn Handler>) -> HandlerService {
        HandlerService { handler }
    }
}

impl std::fmt::Debug for HandlerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerService").finish_non_exhaustive()
    }
}

impl TowerService<Request> for HandlerService {
    type Response = Bytes;
    type Error = HandlerError;
    type Future = BoxFuture<Result<Bytes, HandlerError>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), HandlerError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let fut = self.handler.call(req.ctx, req.payload);
        Box::pin(async move { fut.await.map_err(HandlerError) })
    }
}

/// A layered tower service as a handler: each call runs on a clone of the service (clones
/// share a layer's state, such as a concurrency limit's semaphore), waiting for readiness
/// first.
struct Layered<S> {
    service: S,
}

impl<S> Handler for Layered<S>
where
    S: TowerService<Request, Response = Bytes> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    fn call(&self, ctx: Context, payload: Bytes) -> BoxFuture<HandlerResult> {
        let mut service = self.service.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(to_service_error)?;
            service
                .call(Request { ctx, payload })
                .await
                .map_err(to_service_error)
        })
    }
}

/// A service's own error passes through; a layer's error (a timeout, an overload) becomes an
/// error reply with its text.
fn to_service_error(e: impl Into<BoxError>) -> ServiceError {
    match e.into().downcast::<HandlerError>() {
        Ok(e) => e.0,
        Err(e) => ServiceError::new(e.to_string()),
    }
}

/// Wraps `handler` in `layer` (a single layer or a `tower::ServiceBuilder` stack); register
/// the result with `ServerBuilder::raw_handler`.
pub fn layer_handler<L>(handler: Arc<dyn Handler>, layer: &L) -> Arc<dyn Handler>
where
    L: Layer<HandlerService>,
    L::Service: TowerService<Request, Response = Bytes> + Clone + Send + Sync + 'static,
    <L::Service as TowerService<Request>>::Error: Into<BoxError>,
    <L::Service as TowerService<Request>>::Future: Send + 'static,
{
    Arc::new(Layered {
        service: layer.layer(HandlerService::new(handler)),
    })
}
