//! A three-server ZooKeeper ensemble loses its leader while calls and registrations go on:
//! no call fails and the registrations (and their sessions) survive.

#[path = "../../registry-etcd/tests/common/mod.rs"]
mod common;

use common::*;
use fastrpc_discovery::{Discovery, RegistryUrl};
use fastrpc_registry_zookeeper::{ZkOptions, ZkRegistrar, discovery_from_url, registrar_from_url};
use fastrpc_test_infra::ZooKeeper;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_while_calls_and_registrations_go_on() {
    let Some(mut zk) = ZooKeeper::ensemble() else {
        return;
    };
    let u: RegistryUrl = zk.url("/rpcx_test", "ttl=15s&interval=1s").parse().unwrap();
    let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
    let registrar = Arc::new(
        ZkRegistrar::connect(ZkOptions::from_url(&u).unwrap())
            .await
            .unwrap(),
    );
    let session = registrar.session_id().await.unwrap();
    let (l, a_key) = listener().await;
    let a = fastrpc_server::Server::builder()
        .plugin(fastrpc_server::RegistrarPlugin::from_arc(
            registrar.clone(),
            a_key.clone(),
        ))
        .handler(
            SERVICE,
            "Am",
            |_ctx: fastrpc_server::Context, _: u32| async move {
                Ok::<_, fastrpc_server::ServiceError>("a".to_owned())
            },
        )
        .build()
        .serve_listener(l)
        .unwrap();
    wait_list(&*d, WAIT, "server a", |l| l.len() == 1).await;
    let calls = CallLoop::start(Arc::new(xclient(d.clone())));
    calls.wait_more(20).await;

    let killed = zk.leader().expect("an elected leader");
    zk.kill(killed);
    // Registrations go on: a new server registers while the ensemble elects a new leader.
    let (b, b_key) = start_server(registrar_from_url(&u).await.unwrap(), "b").await;
    let mut both = vec![a_key.clone(), b_key.clone()];
    both.sort();
    wait_list(&*d, WAIT, "a and b with a server down", |l| keys(l) == both).await;
    calls.wait_more(100).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(keys(&d.servers()), both, "the registrations survive");
    assert_eq!(
        registrar.session_id().await,
        Some(session),
        "the session survives"
    );

    zk.restart(killed);
    calls.wait_more(20).await;
    let (ok, errors) = calls.finish().await;
    assert!(
        errors.is_empty(),
        "{} calls failed: {errors:?}",
        errors.len()
    );
    assert!(ok > 100);
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
    wait_list(&*d, WAIT, "no server", |l| l.is_empty()).await;
}
