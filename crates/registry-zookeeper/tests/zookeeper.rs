//! The ZooKeeper registry against a real ZooKeeper (started per test on free ports by
//! fastrpc-test-infra; skipped with a message when it is not installed, failed when
//! `FASTRPC_REQUIRE_INFRA=1`).

// The same helpers as the etcd tests: servers, XClient, call loop, child process.
#[path = "../../registry-etcd/tests/common/mod.rs"]
mod common;

use common::*;
use fastrpc_discovery::{Discovery, Registrar, RegistryUrl};
use fastrpc_registry_zookeeper::{ZkOptions, ZkRegistrar, discovery_from_url, registrar_from_url};
use fastrpc_test_infra::{TcpProxy, ZooKeeper};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use zookeeper_client::Client;

const WAIT: Duration = Duration::from_secs(40);

fn url(zk: &ZooKeeper, base: &str, query: &str) -> RegistryUrl {
    zk.url(base, query).parse().unwrap()
}

async fn raw_client(zk: &ZooKeeper) -> Client {
    Client::connect(&zk.connect_string()).await.unwrap()
}

/// (path, data, ephemeral owner) of `path` and all its descendants, depth first, sorted.
async fn raw_tree(c: &Client, path: &str) -> Vec<(String, Vec<u8>, i64)> {
    let mut out = Vec::new();
    let mut todo = vec![path.to_owned()];
    while let Some(p) = todo.pop() {
        let Ok((data, stat)) = c.get_data(&p).await else {
            continue;
        };
        out.push((p.clone(), data, stat.ephemeral_owner));
        for child in c.list_children(&p).await.unwrap_or_default() {
            todo.push(format!("{p}/{child}"));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_register_are_called_join_and_leave() {
    let Some(zk) = ZooKeeper::single() else {
        return;
    };
    let u = url(&zk, "/rpcx_test", "ttl=6s");
    let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
    assert!(d.servers().is_empty());

    let (a, a_key) = start_server(registrar_from_url(&u).await.unwrap(), "a").await;
    let list = wait_list(&*d, WAIT, "server a", |l| l.len() == 1).await;
    assert_eq!(list[0].key(), a_key);
    assert_eq!(list[0].raw_metadata(), "weight=1&group=test");
    let xc = xclient(d.clone());
    assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "a");

    let (b, b_key) = start_server(registrar_from_url(&u).await.unwrap(), "b").await;
    wait_list(&*d, WAIT, "servers a and b", |l| l.len() == 2).await;
    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        seen.insert(xc.call::<_, String>("Am", &0u32).await.unwrap());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a", "b"]);

    // Graceful shutdown deletes the leaf before shutdown returns.
    a.shutdown(Duration::from_secs(5)).await;
    let c = raw_client(&zk).await;
    let left = c
        .list_children(&format!("/rpcx_test/{SERVICE}"))
        .await
        .unwrap();
    assert_eq!(left, [b_key.as_str()]);
    wait_list(&*d, WAIT, "only b", |l| keys(l) == [b_key.as_str()]).await;
    for _ in 0..10 {
        assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "b");
    }
    b.shutdown(Duration::from_secs(5)).await;
    wait_list(&*d, WAIT, "no server", |l| l.is_empty()).await;
}

/// Not a test on its own: the child process of `hard_killed_server_disappears_when_its_session_expires`.
#[tokio::test]
#[ignore = "run by hard_killed_server_disappears_when_its_session_expires in a child process"]
async fn hard_kill_child() {
    let Ok(u) = std::env::var(CHILD_URL_ENV) else {
        return;
    };
    run_child_server(registrar_from_url(&u.parse().unwrap()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_killed_server_disappears_when_its_session_expires() {
    let Some(zk) = ZooKeeper::single() else {
        return;
    };
    let u = url(&zk, "/rpcx_test", "ttl=4s&interval=1s");
    let d = discovery_from_url(&u, SERVICE).await.unwrap();
    let (mut child, key) = spawn_child_server(u.as_str());
    wait_list(&d, WAIT, "the child's entry", |l| keys(l) == [key.as_str()]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        keys(&d.servers()),
        [key.as_str()],
        "the session is kept alive"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    wait_list(&d, WAIT, "the session to expire", |l| l.is_empty()).await;
    // Gone with the session (4 s), not at once: no one closed it.
    assert!(
        killed.elapsed() >= Duration::from_secs(2),
        "{:?}",
        killed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_restart_loses_no_call_and_keeps_the_registration() {
    let Some(mut zk) = ZooKeeper::single() else {
        return;
    };
    let u = url(&zk, "/rpcx_test", "ttl=20s&interval=1s");
    let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
    let (a, a_key) = start_server(registrar_from_url(&u).await.unwrap(), "a").await;
    wait_list(&*d, WAIT, "server a", |l| l.len() == 1).await;
    let calls = CallLoop::start(Arc::new(xclient(d.clone())));
    calls.wait_more(20).await;

    zk.stop(0);
    calls.wait_more(50).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        keys(&d.servers()),
        [a_key.as_str()],
        "the last list is kept"
    );
    zk.restart(0);
    calls.wait_more(50).await;

    let (b, b_key) = start_server(registrar_from_url(&u).await.unwrap(), "b").await;
    let mut both = vec![a_key.clone(), b_key.clone()];
    both.sort();
    wait_list(&*d, WAIT, "a and b after the restart", |l| keys(l) == both).await;
    let c = raw_client(&zk).await;
    let mut stored = c
        .list_children(&format!("/rpcx_test/{SERVICE}"))
        .await
        .unwrap();
    stored.sort();
    assert_eq!(stored, both);

    let (ok, errors) = calls.finish().await;
    assert!(
        errors.is_empty(),
        "{} calls failed: {errors:?}",
        errors.len()
    );
    assert!(ok > 100);
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_leaf_and_metadata_change_are_repaired_and_noticed() {
    let Some(zk) = ZooKeeper::single() else {
        return;
    };
    let u = url(&zk, "/rpcx_test", "ttl=6s&interval=1s");
    let d = discovery_from_url(&u, SERVICE).await.unwrap();
    let r = ZkRegistrar::connect(ZkOptions::from_url(&u).unwrap())
        .await
        .unwrap();
    r.register("tcp@127.0.0.1:1", SERVICE, "weight=1")
        .await
        .unwrap();
    wait_list(&d, WAIT, "the entry", |l| l.len() == 1).await;

    // Deleted behind the registrar's back: re-created by the refresh (Go's refresh).
    let c = raw_client(&zk).await;
    let leaf = format!("/rpcx_test/{SERVICE}/tcp@127.0.0.1:1");
    c.delete(&leaf, None).await.unwrap();
    wait_list(&d, WAIT, "the entry to go", |l| l.is_empty()).await;
    wait_list(&d, WAIT, "the entry to come back", |l| l.len() == 1).await;

    // A metadata change of an existing child is noticed (Go would wait for a child change).
    r.register("tcp@127.0.0.1:1", SERVICE, "weight=1&state=inactive")
        .await
        .unwrap();
    wait_list(&d, Duration::from_secs(10), "new metadata", |l| {
        l.first().is_some_and(|e| e.is_inactive())
    })
    .await;
    r.close().await.unwrap();
    wait_list(&d, WAIT, "nothing after close", |l| l.is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_matches_go_byte_for_byte() {
    let Some(zk) = ZooKeeper::single() else {
        return;
    };
    let c = raw_client(&zk).await;
    // `/rpcx_test` and `rpcx_test` give the same znodes (one leading slash stripped, then
    // libkv's "/" + key).
    for (path, query) in [
        ("/rpcx_test", "interval=1s"),
        ("", "base=rpcx_test&interval=1s"),
    ] {
        let r = ZkRegistrar::connect(ZkOptions::from_url(&url(&zk, path, query)).unwrap())
            .await
            .unwrap();
        let session = r.session_id().await.unwrap();
        r.register("tcp@127.0.0.1:8972", "Arith", "weight=10&group=g1")
            .await
            .unwrap();
        let tree = raw_tree(&c, "/rpcx_test").await;
        assert_eq!(
            tree,
            [
                ("/rpcx_test".to_owned(), b"rpcx_path".to_vec(), 0),
                ("/rpcx_test/Arith".to_owned(), b"Arith".to_vec(), 0),
                (
                    "/rpcx_test/Arith/tcp@127.0.0.1:8972".to_owned(),
                    b"weight=10&group=g1".to_vec(),
                    session
                ),
            ],
            "base {path:?} {query:?}"
        );
        let (acl, _) = c
            .get_acl("/rpcx_test/Arith/tcp@127.0.0.1:8972")
            .await
            .unwrap();
        assert_eq!(acl.len(), 1);
        assert_eq!(acl[0].scheme(), "world");
        assert_eq!(acl[0].id(), "anyone");
        assert_eq!(acl[0].permission(), zookeeper_client::Permission::ALL);
        r.close().await.unwrap();
        let tree = raw_tree(&c, "/rpcx_test").await;
        assert_eq!(tree.len(), 2, "close deletes the leaf only: {tree:?}");
    }
    // interval=0: a persistent leaf, as Go writes when UpdateInterval is 0.
    let r = registrar_from_url(&url(&zk, "/rpcx_test", "interval=0"))
        .await
        .unwrap();
    r.register("tcp@127.0.0.1:8972", "Arith", "weight=10&group=g1")
        .await
        .unwrap();
    let (_, stat) = c
        .get_data("/rpcx_test/Arith/tcp@127.0.0.1:8972")
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, 0);
    r.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_entries_written_by_the_zookeeper_cli_in_gos_layout() {
    let Some(zk) = ZooKeeper::single() else {
        return;
    };
    let (server, key) = start_plain_server("by-hand").await;
    for (path, data) in [
        ("/rpcx_test".to_owned(), "rpcx_path".to_owned()),
        (format!("/rpcx_test/{SERVICE}"), SERVICE.to_owned()),
        (
            format!("/rpcx_test/{SERVICE}/{key}"),
            "weight=7&group=test".to_owned(),
        ),
    ] {
        zk.cli(&["create", &path, &data]).unwrap();
    }
    // Go's discovery strips the leading slash of the base path: both forms find it.
    for u in [url(&zk, "/rpcx_test", ""), url(&zk, "", "base=rpcx_test")] {
        let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
        let list = d.servers();
        assert_eq!(keys(&list), [key.as_str()]);
        assert_eq!(list[0].raw_metadata(), "weight=7&group=test");
        let xc = xclient(d.clone());
        assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "by-hand");
    }
    let d = discovery_from_url(&url(&zk, "/rpcx_test", ""), SERVICE)
        .await
        .unwrap();
    zk.cli(&["delete", &format!("/rpcx_test/{SERVICE}/{key}")])
        .unwrap();
    wait_list(&d, WAIT, "deletion", |l| l.is_empty()).await;

    // A service that does not exist yet: empty, then found when it is created.
    let other = d.clone_for_service("Later");
    assert!(other.servers().is_empty());
    zk.cli(&["create", "/rpcx_test/Later", "Later"]).unwrap();
    zk.cli(&["create", "/rpcx_test/Later/tcp@10.9.9.9:1", ""])
        .unwrap();
    wait_list(&*other, WAIT, "the later service", |l| {
        keys(l) == ["tcp@10.9.9.9:1"]
    })
    .await;
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_session_is_replaced_and_entries_recreated() {
    let Some(zk) = ZooKeeper::single() else {
        return;
    };
    // The registrar reaches ZooKeeper through a relay the test cuts: a network partition
    // longer than the session timeout, while ZooKeeper itself stays up and expires the
    // session (and its ephemeral leaf).
    let proxy = TcpProxy::start(zk.servers()[0].addr());
    let through_proxy: RegistryUrl =
        format!("zookeeper://{}/rpcx_test?ttl=4s&interval=1s", proxy.addr())
            .parse()
            .unwrap();
    let d = discovery_from_url(&url(&zk, "/rpcx_test", ""), SERVICE)
        .await
        .unwrap();
    let r = ZkRegistrar::connect(ZkOptions::from_url(&through_proxy).unwrap())
        .await
        .unwrap();
    r.register("tcp@127.0.0.1:1", SERVICE, "weight=1")
        .await
        .unwrap();
    wait_list(&d, WAIT, "the entry", |l| l.len() == 1).await;
    let old = r.session_id().await.unwrap();

    proxy.cut();
    wait_list(&d, WAIT, "the leaf of the expired session to go", |l| {
        l.is_empty()
    })
    .await;
    proxy.heal();
    wait_list(&d, WAIT, "the leaf to be re-created", |l| l.len() == 1).await;
    let new = r.session_id().await.unwrap();
    assert_ne!(new, old);
    let c = raw_client(&zk).await;
    let (_, stat) = c
        .get_data(&format!("/rpcx_test/{SERVICE}/tcp@127.0.0.1:1"))
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, new);
    r.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_zookeeper_is_a_clear_unavailable_error() {
    let port = fastrpc_test_infra::free_port();
    let u: RegistryUrl = format!("zookeeper://127.0.0.1:{port}/rpcx_test?ttl=2s&timeout=500ms")
        .parse()
        .unwrap();
    let started = std::time::Instant::now();
    let err = discovery_from_url(&u, SERVICE).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let err = registrar_from_url(&u).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let bad: RegistryUrl = "zookeeper:///rpcx_test".parse().unwrap();
    assert!(matches!(
        discovery_from_url(&bad, SERVICE).await.unwrap_err(),
        fastrpc_discovery::RegistryError::InvalidUrl { .. }
    ));
}

/// rpcx-ui's write (`update_metadata`) from another registrar: the leaf's data changes in
/// place (still ephemeral, same owner), is noticed, and survives the owner's refreshes; a
/// missing leaf is `NotFound` and not created; `services` lists the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_rewritten_by_another_registrar_survives_refresh() {
    let Some(zk) = ZooKeeper::single() else {
        return;
    };
    let u = url(&zk, "/rpcx_test", "ttl=6s&interval=300ms");
    let d = discovery_from_url(&u, SERVICE).await.unwrap();
    let owner = ZkRegistrar::connect(ZkOptions::from_url(&u).unwrap())
        .await
        .unwrap();
    owner
        .register("tcp@127.0.0.1:1", SERVICE, "group=test&weight=1")
        .await
        .unwrap();
    wait_list(&d, WAIT, "the entry", |l| l.len() == 1).await;

    let ui = registrar_from_url(&u).await.unwrap();
    ui.update_metadata(
        "tcp@127.0.0.1:1",
        SERVICE,
        "group=test&state=inactive&weight=1",
    )
    .await
    .unwrap();
    wait_list(&d, WAIT, "inactive", |l| {
        l.first().is_some_and(|e| e.is_inactive())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let c = raw_client(&zk).await;
    let leaf = format!("/rpcx_test/{SERVICE}/tcp@127.0.0.1:1");
    let (data, stat) = c.get_data(&leaf).await.unwrap();
    assert_eq!(data, b"group=test&state=inactive&weight=1");
    assert_eq!(stat.ephemeral_owner, owner.session_id().await.unwrap());

    let missing = ui
        .update_metadata("tcp@127.0.0.1:2", SERVICE, "weight=1")
        .await;
    assert!(
        matches!(missing, Err(fastrpc_discovery::RegistryError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(ui.services().await.unwrap(), [SERVICE]);
    ui.close().await.unwrap();
    owner.close().await.unwrap();
    wait_list(&d, WAIT, "nothing after close", |l| l.is_empty()).await;
}
