//! The [`Registrar`] trait: the server side of a registry.

use crate::RegistryError;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future, as the object-safe async methods of this crate return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Publishes a server's services in a registry, in rpcx's layout, and keeps them there.
///
/// One entry is written per service: `{base}/{service}/{server_key}` holding the metadata
/// query (`weight=10&group=g1&state=active`). The registrar owns its liveness mechanism (an
/// etcd lease, a ZooKeeper session, a Consul session, a Redis expiry, an mDNS announcement)
/// and refreshes it in the background. While the registry is unreachable it retries with
/// backoff and, when the registry comes back, writes every entry it holds again.
///
/// The server-side adapter is `fastrpc_server::RegistrarPlugin`, which calls
/// [`register`](Self::register) for every service and [`unregister`](Self::unregister) on
/// graceful shutdown.
pub trait Registrar: Send + Sync + 'static {
    /// Publishes `service` served at `server_key` (`tcp@10.0.0.5:8972`) with `metadata`.
    /// Registering the same service again replaces its metadata (this is how a server is
    /// marked `state=inactive` or re-weighted).
    ///
    /// The entry is remembered even when the first write fails (the error says why): the
    /// registrar keeps trying in the background.
    fn register<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>>;

    /// Removes the entry of `service` at `server_key` and stops refreshing it.
    fn unregister<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>>;

    /// Removes every entry this registrar published and stops its background work.
    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>>;

    /// Rewrites the metadata of an entry already in the registry, whoever published it,
    /// without taking it over: the entry keeps its owner's liveness (lease, expiry, session)
    /// and is not refreshed or removed by this registrar. This is what rpcx-ui does to mark a
    /// server `state=inactive` or change its `weight`; the owner's refresh keeps the new value,
    /// as Go's registry plugins do.
    ///
    /// Fails with [`RegistryError::NotFound`] when the entry is not there, and by default
    /// with [`RegistryError::Unsupported`].
    fn update_metadata<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        let _ = (server_key, service, metadata);
        Box::pin(async { Err(RegistryError::Unsupported("rewriting an entry's metadata")) })
    }

    /// The names of the services that have at least one server entry, sorted. By default
    /// [`RegistryError::Unsupported`].
    fn services(&self) -> BoxFuture<'_, Result<Vec<String>, RegistryError>> {
        Box::pin(async { Err(RegistryError::Unsupported("listing services")) })
    }
}

impl<R: Registrar + ?Sized> Registrar for std::sync::Arc<R> {
    fn register<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        (**self).register(server_key, service, metadata)
    }

    fn unregister<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        (**self).unregister(server_key, service)
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        (**self).close()
    }

    fn update_metadata<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        (**self).update_metadata(server_key, service, metadata)
    }

    fn services(&self) -> BoxFuture<'_, Result<Vec<String>, RegistryError>> {
        (**self).services()
    }
}
