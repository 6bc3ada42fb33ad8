//! `fastrpc::discovery::from_url` and `fastrpc::registry::from_url`: every scheme either
//! works or names the Cargo feature it needs.

use fastrpc::discovery::{self, RegistryError};
use fastrpc::registry;

#[tokio::test]
async fn builtin_schemes_work() {
    let d = discovery::from_url("static://tcp@127.0.0.1:1,tcp@127.0.0.1:2?group=g", "Arith")
        .await
        .unwrap();
    assert_eq!(d.servers().len(), 2);
    assert!(d.servers()[0].in_group("g"));
    let d = discovery::from_url("p2p://tcp@127.0.0.1:8972", "Arith")
        .await
        .unwrap();
    assert_eq!(d.servers()[0].key(), "tcp@127.0.0.1:8972");
    let d = discovery::from_url("dns://localhost:8972?interval=1h", "Arith")
        .await
        .unwrap();
    assert!(d.servers().iter().all(|e| e.key().ends_with(":8972")));
    d.close();
    assert!(registry::from_url("static://tcp@a:1").await.is_err());
}

#[tokio::test]
async fn errors_are_clear() {
    let err = discovery::from_url("nosuch://h:1/x", "Arith")
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::UnknownScheme(_)), "{err}");
    let err = discovery::from_url("no-scheme", "Arith").await.unwrap_err();
    assert!(matches!(err, RegistryError::InvalidUrl { .. }), "{err}");
}

/// A registry scheme whose feature is off names the feature (only checked for the features
/// this build has off).
#[tokio::test]
async fn disabled_registry_features_are_named() {
    let schemes = [
        (
            "etcd://127.0.0.1:2379/rpcx_test",
            "etcd",
            cfg!(feature = "etcd"),
        ),
        (
            "zookeeper://127.0.0.1:2181/rpcx_test",
            "zookeeper",
            cfg!(feature = "zookeeper"),
        ),
        (
            "consul://127.0.0.1:8500/rpcx_test",
            "consul",
            cfg!(feature = "consul"),
        ),
        (
            "redis://127.0.0.1:6379/rpcx_test",
            "redis",
            cfg!(feature = "redis"),
        ),
        ("mdns://", "mdns", cfg!(feature = "mdns")),
    ];
    for (url, feature, enabled) in schemes {
        if enabled {
            continue;
        }
        for err in [
            discovery::from_url(url, "Arith").await.unwrap_err(),
            registry::from_url(url).await.err().unwrap(),
        ] {
            match &err {
                RegistryError::FeatureDisabled { feature: f, .. } => assert_eq!(*f, feature),
                other => panic!("{url}: expected FeatureDisabled, got {other}"),
            }
            assert!(
                err.to_string()
                    .contains(&format!("`{feature}` Cargo feature"))
            );
        }
    }
}
