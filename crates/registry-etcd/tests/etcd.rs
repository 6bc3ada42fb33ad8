//! The etcd registry against a real etcd (started per test on free ports by
//! fastrpc-test-infra; skipped with a message when etcd is not installed, failed when
//! `FASTRPC_REQUIRE_INFRA=1`).

mod common;

use common::*;
use etcd_client::GetOptions;
use fastrpc_discovery::{Discovery, Registrar, RegistryUrl};
use fastrpc_registry_etcd::{EtcdRegistrar, discovery_from_url, registrar_from_url};
use fastrpc_test_infra::Etcd;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn url(etcd: &Etcd, base: &str, query: &str) -> RegistryUrl {
    etcd.url(base, query).parse().unwrap()
}

/// Every key under `prefix` with its value and lease, read raw from etcd.
async fn raw(etcd: &Etcd, prefix: &str) -> Vec<(Vec<u8>, Vec<u8>, i64)> {
    let mut c = etcd_client::Client::connect(etcd.endpoints(), None)
        .await
        .unwrap();
    let resp = c
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    resp.kvs()
        .iter()
        .map(|kv| (kv.key().to_vec(), kv.value().to_vec(), kv.lease()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_register_are_called_join_and_leave() {
    let Some(etcd) = Etcd::single() else { return };
    let u = url(&etcd, "/rpcx_test", "ttl=10s");
    let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
    assert!(d.servers().is_empty());

    let (a, a_key) = start_server(registrar_from_url(&u).await.unwrap(), "a").await;
    let list = wait_list(&*d, WAIT, "server a", |l| l.len() == 1).await;
    assert_eq!(list[0].key(), a_key);
    assert_eq!(list[0].raw_metadata(), "weight=1&group=test");
    let xc = xclient(d.clone());
    assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "a");

    // A second server appears and takes calls without a client restart.
    let (b, b_key) = start_server(registrar_from_url(&u).await.unwrap(), "b").await;
    wait_list(&*d, WAIT, "servers a and b", |l| l.len() == 2).await;
    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        seen.insert(xc.call::<_, String>("Am", &0u32).await.unwrap());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a", "b"]);

    // Graceful shutdown removes the entry (before shutdown returns, in etcd itself).
    a.shutdown(Duration::from_secs(5)).await;
    let left = raw(&etcd, &format!("/rpcx_test/{SERVICE}/")).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        left[0].0,
        format!("/rpcx_test/{SERVICE}/{b_key}").into_bytes()
    );
    wait_list(&*d, WAIT, "only b", |l| keys(l) == [b_key.as_str()]).await;
    for _ in 0..10 {
        assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "b");
    }
    b.shutdown(Duration::from_secs(5)).await;
    wait_list(&*d, WAIT, "no server", |l| l.is_empty()).await;
}

/// Not a test on its own: the child process of `hard_killed_server_disappears_when_its_lease_expires`.
#[tokio::test]
#[ignore = "run by hard_killed_server_disappears_when_its_lease_expires in a child process"]
async fn hard_kill_child() {
    let Ok(u) = std::env::var(CHILD_URL_ENV) else {
        return;
    };
    run_child_server(registrar_from_url(&u.parse().unwrap()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_killed_server_disappears_when_its_lease_expires() {
    let Some(etcd) = Etcd::single() else { return };
    let u = url(&etcd, "/rpcx_test", "ttl=3s&interval=1s");
    let d = discovery_from_url(&u, SERVICE).await.unwrap();
    let (mut child, key) = spawn_child_server(u.as_str());
    wait_list(&d, WAIT, "the child's entry", |l| keys(l) == [key.as_str()]).await;
    // Alive for longer than the TTL: the keep-alive works.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(keys(&d.servers()), [key.as_str()]);

    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    wait_list(&d, WAIT, "the entry to expire", |l| l.is_empty()).await;
    // It went with the lease, not before the TTL (minus etcd's rounding).
    assert!(
        killed.elapsed() >= Duration::from_secs(1),
        "{:?}",
        killed.elapsed()
    );
    assert!(
        raw(&etcd, &format!("/rpcx_test/{SERVICE}/"))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_restart_loses_no_call_and_keeps_the_registration() {
    let Some(mut etcd) = Etcd::single() else {
        return;
    };
    let u = url(&etcd, "/rpcx_test", "ttl=5s&interval=1s");
    let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
    let (a, a_key) = start_server(registrar_from_url(&u).await.unwrap(), "a").await;
    wait_list(&*d, WAIT, "server a", |l| l.len() == 1).await;
    let calls = CallLoop::start(Arc::new(xclient(d.clone())));
    calls.wait_more(20).await;

    etcd.stop(0);
    // Calls go on while etcd is down, and the client keeps its list.
    calls.wait_more(50).await;
    assert_eq!(keys(&d.servers()), [a_key.as_str()]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(keys(&d.servers()), [a_key.as_str()]);
    etcd.restart(0);
    calls.wait_more(50).await;

    // The watch is back: a new server is seen; the first registration is still there.
    let (b, b_key) = start_server(registrar_from_url(&u).await.unwrap(), "b").await;
    let mut both = vec![a_key.clone(), b_key.clone()];
    both.sort();
    wait_list(&*d, WAIT, "a and b after the restart", |l| keys(l) == both).await;
    // Longer than the TTL: the registrar's lease is alive (or was re-granted).
    tokio::time::sleep(Duration::from_secs(6)).await;
    let stored = raw(&etcd, &format!("/rpcx_test/{SERVICE}/")).await;
    assert_eq!(stored.len(), 2, "{stored:?}");

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
async fn revoked_lease_is_granted_again_and_entries_rewritten() {
    let Some(etcd) = Etcd::single() else { return };
    let u = url(&etcd, "/rpcx_test", "ttl=10s&interval=1s");
    let d = discovery_from_url(&u, SERVICE).await.unwrap();
    let registrar =
        EtcdRegistrar::connect(fastrpc_registry_etcd::EtcdOptions::from_url(&u).unwrap())
            .await
            .unwrap();
    registrar
        .register("tcp@127.0.0.1:1", SERVICE, "weight=1")
        .await
        .unwrap();
    wait_list(&d, WAIT, "the entry", |l| l.len() == 1).await;
    let lease = registrar.lease_id().await.unwrap();
    etcd.etcdctl(&["lease", "revoke", &format!("{lease:x}")])
        .unwrap();
    // Revoking deletes the keys; the registrar notices and writes them under a new lease.
    wait_list(&d, WAIT, "the entry to go", |l| l.is_empty()).await;
    wait_list(&d, WAIT, "the entry to come back", |l| l.len() == 1).await;
    let new_lease = registrar.lease_id().await.unwrap();
    assert_ne!(new_lease, lease);
    let stored = raw(&etcd, "/rpcx_test").await;
    assert!(stored.iter().all(|(_, _, l)| *l == new_lease), "{stored:?}");
    registrar.close().await.unwrap();
    wait_list(&d, WAIT, "nothing after close", |l| l.is_empty()).await;
    assert!(
        raw(&etcd, "/rpcx_test").await.is_empty(),
        "close revokes the lease"
    );
}

/// The keys and values Go's `EtcdV3RegisterPlugin` writes for BasePath `base`, service
/// `Arith`, ServiceAddress `tcp@127.0.0.1:8972` and metadata `weight=10&group=g1`.
fn go_layout(base: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (base.as_bytes().to_vec(), b"rpcx_path".to_vec()),
        (format!("{base}/Arith").into_bytes(), b"Arith".to_vec()),
        (
            format!("{base}/Arith/tcp@127.0.0.1:8972").into_bytes(),
            b"weight=10&group=g1".to_vec(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_matches_go_byte_for_byte() {
    let Some(etcd) = Etcd::single() else { return };
    for (query_base, base) in [
        ("/rpcx_test", "/rpcx_test"),
        ("?base=rpcx_plain", "rpcx_plain"),
    ] {
        let (path, query) = match query_base.strip_prefix('?') {
            Some(q) => ("", q),
            None => (query_base, "ttl=7s"),
        };
        let u = url(&etcd, path, query);
        let r = registrar_from_url(&u).await.unwrap();
        r.register("tcp@127.0.0.1:8972", "Arith", "weight=10&group=g1")
            .await
            .unwrap();
        let stored = raw(&etcd, base).await;
        let lease = r.lease_id().await.unwrap();
        let kv: Vec<(Vec<u8>, Vec<u8>)> = stored
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(kv, go_layout(base), "base {base}");
        assert!(
            stored.iter().all(|(_, _, l)| *l == lease),
            "one lease for every key"
        );
        let ttl = etcd
            .etcdctl(&["lease", "timetolive", &format!("{lease:x}")])
            .unwrap();
        let granted = if base.starts_with('/') {
            "granted with TTL(7s)"
        } else {
            "granted with TTL(30s)"
        };
        assert!(ttl.contains(granted), "{ttl}");

        // Registering again replaces the metadata; unregistering deletes the leaf only.
        r.register(
            "tcp@127.0.0.1:8972",
            "Arith",
            "weight=10&group=g1&state=inactive",
        )
        .await
        .unwrap();
        let leaf = raw(&etcd, &format!("{base}/Arith/")).await;
        assert_eq!(leaf[0].1, b"weight=10&group=g1&state=inactive");
        r.unregister("tcp@127.0.0.1:8972", "Arith").await.unwrap();
        let after: Vec<Vec<u8>> = raw(&etcd, base)
            .await
            .into_iter()
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(
            after,
            [go_layout(base)[0].0.clone(), go_layout(base)[1].0.clone()]
        );
        r.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_entries_written_by_etcdctl_in_gos_layout() {
    let Some(etcd) = Etcd::single() else { return };
    let (server, key) = start_plain_server("by-hand").await;
    for (k, v) in [
        ("/rpcx_test".to_owned(), "rpcx_path".to_owned()),
        (format!("/rpcx_test/{SERVICE}"), SERVICE.to_owned()),
        (
            format!("/rpcx_test/{SERVICE}/{key}"),
            "weight=7&group=test".to_owned(),
        ),
        // Another service whose name starts with ours: not ours.
        (
            format!("/rpcx_test/{SERVICE}2/tcp@10.9.9.9:1"),
            String::new(),
        ),
        // The same layout without the leading slash, for a base given as `rpcx_plain`.
        (format!("rpcx_plain/{SERVICE}/{key}"), "weight=3".to_owned()),
    ] {
        etcd.etcdctl(&["put", &k, &v]).unwrap();
    }
    let d = Arc::new(
        discovery_from_url(&url(&etcd, "/rpcx_test", ""), SERVICE)
            .await
            .unwrap(),
    );
    let list = d.servers();
    assert_eq!(keys(&list), [key.as_str()]);
    assert_eq!(list[0].raw_metadata(), "weight=7&group=test");
    assert_eq!(list[0].weight(), 7);
    let xc = xclient(d.clone());
    assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "by-hand");

    let plain = discovery_from_url(&url(&etcd, "", "base=rpcx_plain"), SERVICE)
        .await
        .unwrap();
    assert_eq!(keys(&plain.servers()), [key.as_str()]);
    assert_eq!(plain.servers()[0].raw_metadata(), "weight=3");

    // A change by hand is watched: the metadata follows, and a deletion empties the list.
    etcd.etcdctl(&["put", &format!("/rpcx_test/{SERVICE}/{key}"), "weight=9"])
        .unwrap();
    wait_list(&*d, WAIT, "new metadata", |l| {
        l.first().is_some_and(|e| e.weight() == 9)
    })
    .await;
    etcd.etcdctl(&["del", &format!("/rpcx_test/{SERVICE}/{key}")])
        .unwrap();
    wait_list(&*d, WAIT, "deletion", |l| l.is_empty()).await;

    // clone_for_service (OneClient) lists another service under the same base.
    let other = d.clone_for_service(&format!("{SERVICE}2"));
    wait_list(&*other, WAIT, "the other service", |l| {
        keys(l) == ["tcp@10.9.9.9:1"]
    })
    .await;
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_etcd_is_a_clear_unavailable_error() {
    let port = fastrpc_test_infra::free_port();
    let u: RegistryUrl = format!("etcd://127.0.0.1:{port}/rpcx_test?timeout=300ms")
        .parse()
        .unwrap();
    let started = std::time::Instant::now();
    let err = discovery_from_url(&u, SERVICE).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let err = registrar_from_url(&u).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let bad: RegistryUrl = "etcd:///rpcx_test".parse().unwrap();
    assert!(matches!(
        discovery_from_url(&bad, SERVICE).await.unwrap_err(),
        fastrpc_discovery::RegistryError::InvalidUrl { .. }
    ));
}

/// rpcx-ui's write (`update_metadata`) from another registrar: the value changes in place on
/// the owner's lease, the XClient drops the inactive server, the owner's refreshes keep it;
/// a missing entry is `NotFound` and not created; `services` lists the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_rewritten_by_another_registrar_keeps_its_lease() {
    let Some(etcd) = Etcd::single() else { return };
    let u = url(&etcd, "/rpcx_test", "ttl=10s&interval=300ms");
    let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
    let (a, a_key) = start_server(registrar_from_url(&u).await.unwrap(), "a").await;
    let (b, _b_key) = start_server(registrar_from_url(&u).await.unwrap(), "b").await;
    wait_list(&*d, WAIT, "servers a and b", |l| l.len() == 2).await;
    let xc = xclient(d.clone());
    let leaf = format!("/rpcx_test/{SERVICE}/{a_key}");
    let exact = async |key: &str| {
        raw(&etcd, key)
            .await
            .into_iter()
            .find(|(k, _, _)| k == key.as_bytes())
    };
    let lease_before = exact(&leaf).await.unwrap().2;
    assert_ne!(lease_before, 0);

    let ui = registrar_from_url(&u).await.unwrap();
    ui.update_metadata(&a_key, SERVICE, "group=test&state=inactive&weight=1")
        .await
        .unwrap();
    wait_list(&*d, WAIT, "a inactive", |l| {
        l.iter().any(|e| e.key() == a_key && e.is_inactive())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after = exact(&leaf).await.unwrap();
    assert_eq!(after.1, b"group=test&state=inactive&weight=1");
    assert_eq!(after.2, lease_before, "the entry left its server's lease");
    for _ in 0..10 {
        assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "b");
    }

    let missing = ui
        .update_metadata("tcp@127.0.0.1:1", SERVICE, "weight=1")
        .await;
    assert!(
        matches!(missing, Err(fastrpc_discovery::RegistryError::NotFound(_))),
        "{missing:?}"
    );
    assert!(
        exact(&format!("/rpcx_test/{SERVICE}/tcp@127.0.0.1:1"))
            .await
            .is_none()
    );
    assert_eq!(ui.services().await.unwrap(), [SERVICE]);
    ui.close().await.unwrap();
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
    wait_list(&*d, WAIT, "no server", |l| l.is_empty()).await;
}
