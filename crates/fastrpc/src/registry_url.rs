//! `from_url`: a registry or a discovery chosen by a URL string, dispatched to the registry
//! crates compiled in by Cargo features.

use fastrpc_discovery::{
    Discovery, Registrar, RegistryError, RegistryUrl, builtin_discovery, feature_disabled,
};
use std::sync::Arc;

/// The discovery of `service_path` in the registry named by `url`
/// (`etcd://h1:2379,h2:2379/rpcx_test`, `static://tcp@a:1,tcp@b:2`, ...; see
/// [`RegistryUrl`] for every form). A registry scheme whose crate is not compiled in gives
/// [`RegistryError::FeatureDisabled`], naming the Cargo feature to enable.
pub async fn discovery_from_url(
    url: &str,
    service_path: &str,
) -> Result<Arc<dyn Discovery>, RegistryError> {
    let url = RegistryUrl::parse(url)?;
    let _ = service_path; // unused when no registry feature is on
    match url.scheme() {
        "static" | "p2p" | "peer2peer" | "dns" => builtin_discovery(&url).await,
        #[cfg(feature = "etcd")]
        "etcd" | "etcdv3" => Ok(Arc::new(
            fastrpc_registry_etcd::discovery_from_url(&url, service_path).await?,
        )),
        #[cfg(feature = "zookeeper")]
        "zookeeper" | "zk" => Ok(Arc::new(
            fastrpc_registry_zookeeper::discovery_from_url(&url, service_path).await?,
        )),
        #[cfg(feature = "consul")]
        "consul" => Ok(Arc::new(
            fastrpc_registry_consul::discovery_from_url(&url, service_path).await?,
        )),
        #[cfg(feature = "redis")]
        "redis" => Ok(Arc::new(
            fastrpc_registry_redis::discovery_from_url(&url, service_path).await?,
        )),
        #[cfg(feature = "mdns")]
        "mdns" => Ok(Arc::new(
            fastrpc_registry_mdns::discovery_from_url(&url, service_path).await?,
        )),
        _ => Err(feature_disabled(&url)),
    }
}

/// The registrar of the registry named by `url`, for
/// [`RegistrarPlugin`](fastrpc_server::RegistrarPlugin). Registry-free schemes
/// (`static`, `p2p`, `dns`) have nothing to register into and are refused.
pub async fn registrar_from_url(url: &str) -> Result<Arc<dyn Registrar>, RegistryError> {
    let url = RegistryUrl::parse(url)?;
    match url.scheme() {
        "static" | "p2p" | "peer2peer" | "dns" => Err(RegistryError::InvalidUrl {
            url: url.as_str().to_owned(),
            reason: format!(
                "`{}://` is client-side only: nothing to register",
                url.scheme()
            ),
        }),
        #[cfg(feature = "etcd")]
        "etcd" | "etcdv3" => Ok(Arc::new(
            fastrpc_registry_etcd::registrar_from_url(&url).await?,
        )),
        #[cfg(feature = "zookeeper")]
        "zookeeper" | "zk" => Ok(Arc::new(
            fastrpc_registry_zookeeper::registrar_from_url(&url).await?,
        )),
        #[cfg(feature = "consul")]
        "consul" => Ok(Arc::new(
            fastrpc_registry_consul::registrar_from_url(&url).await?,
        )),
        #[cfg(feature = "redis")]
        "redis" => Ok(Arc::new(
            fastrpc_registry_redis::registrar_from_url(&url).await?,
        )),
        #[cfg(feature = "mdns")]
        "mdns" => Ok(Arc::new(
            fastrpc_registry_mdns::registrar_from_url(&url).await?,
        )),
        _ => Err(feature_disabled(&url)),
    }
}
