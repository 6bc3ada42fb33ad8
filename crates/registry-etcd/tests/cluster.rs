//! A three-member etcd cluster loses its leader while calls and registrations go on: no
//! call fails and the registrations survive.

mod common;

use common::*;
use fastrpc_discovery::{Discovery, RegistryUrl};
use fastrpc_registry_etcd::{discovery_from_url, registrar_from_url};
use fastrpc_test_infra::Etcd;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(40);

/// The index of the member that is the raft leader.
fn leader(etcd: &Etcd) -> usize {
    let field = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("\"{name}\"")))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_owned())
    };
    for _ in 0..100 {
        for (i, m) in etcd.members().iter().enumerate() {
            let out = std::process::Command::new("etcdctl")
                .env("ETCDCTL_API", "3")
                .arg(format!("--endpoints=127.0.0.1:{}", m.ports.client))
                .args(["endpoint", "status", "-w", "fields"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            if field(&text, "MemberID").is_some()
                && field(&text, "MemberID") == field(&text, "Leader")
            {
                return i;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no etcd leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_while_calls_and_registrations_go_on() {
    let Some(mut etcd) = Etcd::cluster() else {
        return;
    };
    let u: RegistryUrl = etcd
        .url("/rpcx_test", "ttl=5s&interval=1s")
        .parse()
        .unwrap();
    let d = Arc::new(discovery_from_url(&u, SERVICE).await.unwrap());
    let (a, a_key) = start_server(registrar_from_url(&u).await.unwrap(), "a").await;
    wait_list(&*d, WAIT, "server a", |l| l.len() == 1).await;
    let calls = CallLoop::start(Arc::new(xclient(d.clone())));
    calls.wait_more(20).await;

    let killed = leader(&etcd);
    etcd.kill(killed);
    // Registrations go on: a new server registers through the two members left.
    let (b, b_key) = start_server(registrar_from_url(&u).await.unwrap(), "b").await;
    let mut both = vec![a_key.clone(), b_key.clone()];
    both.sort();
    wait_list(&*d, WAIT, "a and b with a member down", |l| keys(l) == both).await;
    calls.wait_more(100).await;
    // Longer than the lease TTL: the keep-alives reach the remaining members.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(keys(&d.servers()), both, "the registrations survive");
    let stored = etcd.etcdctl(&[
        "get",
        "--prefix",
        "--keys-only",
        &format!("/rpcx_test/{SERVICE}/"),
    ]);
    let stored = stored.unwrap();
    assert!(
        stored.contains(&a_key) && stored.contains(&b_key),
        "{stored}"
    );

    etcd.restart(killed);
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
