//! One program, every registry: a server registers through `fastrpc::registry::from_url` and an
//! XClient finds it through `fastrpc::discovery::from_url`, the backend chosen by the URL alone.
//! Real etcd, ZooKeeper and Redis servers (started by `fastrpc-test-infra`; skipped with a
//! message when not installed, failed under `FASTRPC_REQUIRE_INFRA=1`), and the Consul
//! **emulator** (no real Consul agent can be installed here).
//!
//! Needs the registry features (the workspace test run has them, since `fastrpc-cli` enables them): `cargo test -p fastrpc --features etcd,zookeeper,consul,redis
//! --test registry_by_url`.
#![cfg(all(
    feature = "etcd",
    feature = "zookeeper",
    feature = "consul",
    feature = "redis"
))]

use fastrpc::registry::RegistrarPlugin;
use fastrpc::{Context, FailMode, SelectMode, Server, ServiceError, XClient, XClientOptions};
use std::time::Duration;

/// Serves `Who.Am` registered through the registry at `url`, calls it through a discovery
/// of the same URL, then shuts down gracefully and waits for the entry to disappear.
async fn register_discover_call_unregister(url: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    let registrar = fastrpc::registry::from_url(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: registrar: {e}"));
    let server = Server::builder()
        .plugin(RegistrarPlugin::from_arc(registrar, key.clone()))
        .handler("Who", "Am", |_ctx: Context, n: u32| async move {
            Ok::<_, ServiceError>(n + 1)
        })
        .service_metadata("Who", "weight=2&group=test")
        .build();
    let running = server.serve_listener(listener).unwrap();

    let discovery = fastrpc::discovery::from_url(url, "Who")
        .await
        .unwrap_or_else(|e| panic!("{url}: discovery: {e}"));
    let mut watch = discovery.watch();
    tokio::time::timeout(
        Duration::from_secs(20),
        watch.wait_for(|l| l.iter().any(|e| e.key() == key)),
    )
    .await
    .unwrap_or_else(|_| panic!("{url}: {key} not discovered within 20 s"))
    .unwrap();
    let entry = discovery
        .servers()
        .iter()
        .find(|e| e.key() == key)
        .cloned()
        .unwrap();
    assert_eq!(entry.weight(), 2, "{url}: metadata {entry:?}");
    assert!(entry.in_group("test"), "{url}: metadata {entry:?}");

    let xc = XClient::new(
        "Who",
        FailMode::Failover,
        SelectMode::RoundRobin,
        discovery.clone(),
        XClientOptions::default(),
    )
    .unwrap();
    for n in 0..10u32 {
        let got: u32 = xc.call("Am", &n).await.unwrap();
        assert_eq!(got, n + 1);
    }

    running.shutdown(Duration::from_secs(10)).await;
    tokio::time::timeout(
        Duration::from_secs(20),
        watch.wait_for(|l| l.iter().all(|e| e.key() != key)),
    )
    .await
    .unwrap_or_else(|_| panic!("{url}: {key} still listed 20 s after shutdown"))
    .unwrap();
    discovery.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_by_url() {
    let Some(etcd) = fastrpc_test_infra::Etcd::single() else {
        return;
    };
    register_discover_call_unregister(&etcd.url("/rpcx_test", "ttl=10s")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_by_url() {
    let Some(zk) = fastrpc_test_infra::ZooKeeper::single() else {
        return;
    };
    register_discover_call_unregister(&zk.url("/rpcx_test", "")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_by_url() {
    let Some(redis) = fastrpc_test_infra::RedisServer::start() else {
        return;
    };
    register_discover_call_unregister(&redis.url("/rpcx_test")).await;
}

/// Against the Consul **emulator** (crates/consul-emulator), not a real agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consul_emulator_by_url() {
    let emulator = fastrpc_consul_emulator::ConsulEmulator::start(Default::default());
    register_discover_call_unregister(&emulator.url("/rpcx_test")).await;
    register_discover_call_unregister(&emulator.url("/rpcx_test?mode=catalog")).await;
}
