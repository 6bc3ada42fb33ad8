//! [`LayeredService`]: every method of a service behind the same layer.

use super::BoxError;
use super::handler::{HandlerService, Request, layer_handler};
use bytes::Bytes;
use fastrpc_server::{Handler, Service};
use std::sync::Arc;
use tower_layer::Layer;
use tower_service::Service as TowerService;

/// A fastrpc service (a `#[fastrpc::service]` type, say) whose methods all run behind `layer`.
/// Each method gets its own layered stack, so a concurrency limit applies per method; to share
/// one limit across methods, share its state in the layer (as `tower::limit::GlobalConcurrencyLimitLayer` does).
pub struct LayeredService<S, L> {
    inner: Arc<S>,
    layer: L,
}

impl<S, L> LayeredService<S, L> {
    /// `service` with `layer` around each of its methods; register it with
    /// `ServerBuilder::service`.
    pub fn new(service: S, layer: L) -> LayeredService<S, L> {
        LayeredService {
            inner: Arc::new(service),
            layer,
        }
    }
}

impl<S, L> Service for LayeredService<S, L>
where
    S: Service,
    L: Layer<HandlerService> + Send + Sync + 'static,
    L::Service: TowerService<Request, Response = Bytes> + Clone + Send + Sync + 'static,
    <L::Service as TowerService<Request>>::Error: Into<BoxError>,
    <L::Service as TowerService<Request>>::Future: Send + 'static,
{
    fn service_name(&self) -> &str {
        self.inner.service_name()
    }

    fn methods(self: Arc<Self>) -> Vec<(String, Arc<dyn Handler>)> {
        self.inner
            .clone()
            .methods()
            .into_iter()
            .map(|(name, h)| (name, layer_handler(h, &self.layer)))
            .collect()
    }
}
