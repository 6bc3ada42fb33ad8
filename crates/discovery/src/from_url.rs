//! Discoveries from a URL, for the schemes that need no registry crate.
//!
//! The facade (`fastrpc::discovery::from_url`) dispatches registry schemes to their crates
//! and the rest here; [`feature_for_scheme`] names the Cargo feature a scheme needs.

use crate::{
    Discovery, DnsDiscovery, MultipleServersDiscovery, Peer2PeerDiscovery, RegistryError,
    RegistryUrl, ServerEntry,
};
use std::sync::Arc;
use std::time::Duration;

/// The Cargo feature of the `fastrpc` facade that a registry scheme needs, or `None` for the
/// schemes built into this crate (`static`, `p2p`, `dns`) and for unknown schemes.
pub fn feature_for_scheme(scheme: &str) -> Option<&'static str> {
    match scheme {
        "etcd" | "etcdv3" => Some("etcd"),
        "zookeeper" | "zk" => Some("zookeeper"),
        "consul" => Some("consul"),
        "redis" => Some("redis"),
        "mdns" => Some("mdns"),
        _ => None,
    }
}

/// The error for a registry scheme whose crate is not compiled in, naming the feature.
pub fn feature_disabled(url: &RegistryUrl) -> RegistryError {
    match feature_for_scheme(url.scheme()) {
        Some(feature) => RegistryError::FeatureDisabled {
            scheme: url.scheme().to_owned(),
            feature,
        },
        None => RegistryError::UnknownScheme(url.scheme().to_owned()),
    }
}

/// A discovery for `static://`, `p2p://` and `dns://` URLs; any other scheme is an error
/// ([`FeatureDisabled`](RegistryError::FeatureDisabled) for registry schemes).
///
/// * `static://tcp@a:1,tcp@b:2?weight=1`: a [`MultipleServersDiscovery`]; the query string is
///   every server's metadata.
/// * `p2p://tcp@h:8972?weight=1`: a [`Peer2PeerDiscovery`].
/// * `dns://name:8972?network=tcp&interval=30s`: a [`DnsDiscovery`] (network `tcp` and
///   interval 30 s by default). Must be called inside a tokio runtime.
pub async fn builtin_discovery(url: &RegistryUrl) -> Result<Arc<dyn Discovery>, RegistryError> {
    let invalid = |reason: &str| RegistryError::InvalidUrl {
        url: url.as_str().to_owned(),
        reason: reason.to_owned(),
    };
    match url.scheme() {
        "static" => {
            let keys = url.require_hosts()?;
            let meta = url.raw_query();
            Ok(Arc::new(MultipleServersDiscovery::new(
                keys.iter().map(|k| ServerEntry::new(k.as_str(), meta)),
            )))
        }
        "p2p" | "peer2peer" => match url.require_hosts()? {
            [key] => Ok(Arc::new(Peer2PeerDiscovery::new(
                key.as_str(),
                url.raw_query(),
            ))),
            _ => Err(invalid("p2p:// takes exactly one server key")),
        },
        "dns" => {
            let [host] = url.require_hosts()? else {
                return Err(invalid("dns:// takes one name:port"));
            };
            let (name, port) = host
                .rsplit_once(':')
                .and_then(|(n, p)| Some((n, p.parse::<u16>().ok()?)))
                .ok_or_else(|| invalid("dns:// needs name:port"))?;
            let network = url.query("network").unwrap_or("tcp");
            let interval = url.duration("interval")?.unwrap_or(Duration::from_secs(30));
            Ok(Arc::new(
                DnsDiscovery::new(name, network, port, interval).await,
            ))
        }
        _ => Err(feature_disabled(url)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn builtin_schemes() {
        let d = builtin_discovery(&"static://tcp@a:1,tcp@b:2?weight=3".parse().unwrap())
            .await
            .unwrap();
        let list = d.servers();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].key(), "tcp@b:2");
        assert_eq!(list[1].weight(), 3);

        let d = builtin_discovery(&"p2p://tcp@h:1".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(d.servers()[0].key(), "tcp@h:1");

        let d = builtin_discovery(&"dns://127.0.0.1:8972?interval=1h".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(d.servers()[0].key(), "tcp@127.0.0.1:8972");
        d.close();

        let err = builtin_discovery(&"etcd://h:2379/x".parse().unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RegistryError::FeatureDisabled {
                    feature: "etcd",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("`etcd` Cargo feature"), "{err}");
        let err = builtin_discovery(&"nope://h".parse().unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, RegistryError::UnknownScheme(_)), "{err}");
        assert!(
            builtin_discovery(&"p2p://tcp@a:1,tcp@b:1".parse().unwrap())
                .await
                .is_err()
        );
    }
}
