//! The Consul registry against `fastrpc-consul-emulator`, a stateful **emulator** of the
//! Consul endpoints used (a real Consul agent cannot be installed here), with real fastrpc
//! servers and an XClient.

use fastrpc_consul_emulator::{ConsulEmulator, EmulatorConfig};
use fastrpc_discovery::{Discovery, Registrar, RegistryUrl, ServerList};
use fastrpc_registry_consul::{
    ConsulDiscovery, LOCK_FLAG_VALUE, discovery_from_url, registrar_from_url,
};
use fastrpc_server::{Context, RegistrarPlugin, Server, ServerHandle, ServiceError};
use fastrpc_xclient::{FailMode, SelectMode, XClient, XClientOptions};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Short timings: sessions of TTL 1 s (invalidated after 2 s), refreshed every 500 ms.
const FAST: &str = "interval=500ms&ttl=2s&wait=2s&grace=20s&deregister=1s";
const WAIT: Duration = Duration::from_secs(30);

/// An emulator whose `session_ttl_min` is lowered to 1 s (a real agent's default is 10 s;
/// its `session_ttl_min` option lowers it the same way).
fn emulator() -> ConsulEmulator {
    ConsulEmulator::start(EmulatorConfig {
        session_ttl_min: Duration::from_secs(1),
        ..EmulatorConfig::default()
    })
}

async fn serve(name: &'static str) -> ServerHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::builder()
        .handler("Who", "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .build()
        .serve_listener(listener)
        .unwrap()
}

async fn serve_registered(name: &'static str, url: &str) -> ServerHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    Server::builder()
        .plugin(RegistrarPlugin::from_arc(registrar(url).await, key))
        .handler("Who", "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .service_metadata("Who", "weight=1&group=test")
        .build()
        .serve_listener(listener)
        .unwrap()
}

fn key_of(h: &ServerHandle) -> String {
    format!("tcp@{}", h.local_addr())
}

async fn registrar(url: &str) -> Arc<dyn Registrar> {
    Arc::new(
        registrar_from_url(&RegistryUrl::parse(url).unwrap())
            .await
            .unwrap(),
    )
}

async fn discovery(url: &str) -> ConsulDiscovery {
    discovery_from_url(&RegistryUrl::parse(url).unwrap(), "Who")
        .await
        .unwrap()
}

async fn wait_list(
    rx: &mut watch::Receiver<ServerList>,
    what: &str,
    f: impl FnMut(&ServerList) -> bool,
) {
    let waited = tokio::time::timeout(WAIT, rx.wait_for(f))
        .await
        .map(|r| r.is_ok());
    assert!(
        matches!(waited, Ok(true)),
        "timed out waiting for: {what}; list = {:?}",
        *rx.borrow()
    );
}

fn keys(list: &ServerList) -> BTreeSet<String> {
    list.iter().map(|e| e.key().to_owned()).collect()
}

fn xclient(d: &ConsulDiscovery) -> XClient {
    XClient::new(
        "Who",
        FailMode::Failover,
        SelectMode::RoundRobin,
        Arc::new(d.clone()),
        XClientOptions::default(),
    )
    .unwrap()
}

async fn names_seen(xc: &XClient, calls: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..calls {
        seen.insert(xc.call::<_, String>("Am", &0u32).await.unwrap());
    }
    seen
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A hand-made HTTP/1.1 request, as `curl -X METHOD` would send it.
fn raw_http(emu: &ConsulEmulator, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(emu.addr()).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn lifecycle(mode: &str) {
    let emu = emulator();
    let url = emu.url(&format!("/rpcx_test?{FAST}&mode={mode}"));
    let d = discovery(&url).await;
    let mut rx = d.watch();
    let a = serve_registered("a", &url).await;
    wait_list(&mut rx, "server a", |l| {
        keys(l) == BTreeSet::from([key_of(&a)])
    })
    .await;
    assert_eq!(d.servers()[0].raw_metadata(), "weight=1&group=test");
    let xc = xclient(&d);
    assert_eq!(names_seen(&xc, 5).await, set(&["a"]));

    let b = serve_registered("b", &url).await;
    wait_list(&mut rx, "a and b", |l| l.len() == 2).await;
    assert_eq!(names_seen(&xc, 20).await, set(&["a", "b"]));

    let a_key = key_of(&a);
    a.shutdown(Duration::from_secs(5)).await;
    wait_list(&mut rx, "a gone", |l| {
        keys(l) == BTreeSet::from([key_of(&b)])
    })
    .await;
    assert!(emu.kv().iter().all(|e| !e.key.ends_with(&a_key)));
    assert!(emu.services().iter().all(|s| !s.id.ends_with(&a_key)));
    assert_eq!(names_seen(&xc, 10).await, set(&["b"]));
    b.shutdown(Duration::from_secs(5)).await;
    wait_list(&mut rx, "all gone", |l| l.is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_kv_register_discover_add_and_shut_down_gracefully() {
    lifecycle("kv").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_catalog_register_discover_add_and_shut_down_gracefully() {
    lifecycle("catalog").await;
}

async fn killed(mode: &str) {
    let emu = emulator();
    let url = emu.url(&format!("/rpcx_test?{FAST}&mode={mode}"));
    let d = discovery(&url).await;
    let mut rx = d.watch();
    let survivor = serve_registered("survivor", &url).await;
    let victim = serve("victim").await;
    let reg = registrar(&url).await;
    reg.register(&key_of(&victim), "Who", "weight=1")
        .await
        .unwrap();
    wait_list(&mut rx, "two servers", |l| l.len() == 2).await;
    let xc = xclient(&d);
    assert_eq!(names_seen(&xc, 20).await, set(&["survivor", "victim"]));

    // "Kill": the registrar stops without unregistering; the server goes away.
    drop(reg);
    victim.shutdown(Duration::from_secs(5)).await;
    wait_list(&mut rx, "victim expired", |l| {
        keys(l) == BTreeSet::from([key_of(&survivor)])
    })
    .await;
    // The survivor is kept alive by its refresh well past one TTL.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(keys(&d.servers()), BTreeSet::from([key_of(&survivor)]));
    assert_eq!(names_seen(&xc, 10).await, set(&["survivor"]));
    survivor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_kv_killed_server_disappears_when_its_session_expires() {
    killed("kv").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_catalog_killed_server_disappears_when_its_check_expires() {
    killed("catalog").await;
}

/// The emulator is stopped and restarted on the same port with its state lost (as a
/// restarted `consul agent -dev`), twice, while calls go on: not one call fails, the
/// registrars write everything again and the watch follows new servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_restart_while_calls_go_on_fails_no_call() {
    let mut emu = emulator();
    let url = emu.url(&format!("/rpcx_test?{FAST}"));
    let d = discovery(&url).await;
    let mut rx = d.watch();
    let a = serve_registered("a", &url).await;
    let b = serve_registered("b", &url).await;
    wait_list(&mut rx, "a and b", |l| l.len() == 2).await;
    let xc = Arc::new(xclient(&d));
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let caller = {
        let (xc, stop, ok, failed) = (xc.clone(), stop.clone(), ok.clone(), failed.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match xc.call::<_, String>("Am", &0u32).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("call failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for _ in 0..2 {
        emu.stop();
        tokio::time::sleep(Duration::from_secs(1)).await;
        emu.restart();
        let deadline = tokio::time::Instant::now() + WAIT;
        let leaves = |emu: &ConsulEmulator| {
            emu.kv()
                .iter()
                .filter(|e| e.key.starts_with("rpcx_test/Who/") && e.session.is_some())
                .count()
        };
        while leaves(&emu) < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "entries not re-registered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            emu.kv().iter().any(|e| e.key == "rpcx_test"),
            "directories written again"
        );
        assert_eq!(d.servers().len(), 2, "the list was kept through the outage");
    }
    let c = serve_registered("c", &url).await;
    wait_list(&mut rx, "a, b and c", |l| l.len() == 3).await;
    stop.store(true, Ordering::Relaxed);
    caller.await.unwrap();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no call may fail");
    assert!(ok.load(Ordering::Relaxed) > 0);
    for s in [a, b, c] {
        s.shutdown(Duration::from_secs(5)).await;
    }
}

/// What the registrar stores and sends, compared with what Go's `ConsulRegisterPlugin`
/// (libkv) stores and sends (§5.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_kv_layout_matches_go() {
    let emu = emulator();
    let url = emu.url("/rpcx_test?interval=10s");
    let reg = registrar(&url).await;
    reg.register("tcp@127.0.0.1:8972", "Arith", "weight=10&group=g1")
        .await
        .unwrap();
    let kv = emu.kv();
    let got: Vec<(&str, &[u8], u64, bool)> = kv
        .iter()
        .map(|e| {
            (
                e.key.as_str(),
                e.value.as_slice(),
                e.flags,
                e.session.is_some(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("rpcx_test", b"rpcx_path".as_slice(), LOCK_FLAG_VALUE, false),
            (
                "rpcx_test/Arith",
                b"Arith".as_slice(),
                LOCK_FLAG_VALUE,
                false
            ),
            (
                "rpcx_test/Arith/tcp@127.0.0.1:8972",
                b"weight=10&group=g1".as_slice(),
                LOCK_FLAG_VALUE,
                true
            ),
        ]
    );
    assert_eq!(LOCK_FLAG_VALUE, 0x2DDC_CBC0_58A5_0C18);
    let sessions = emu.sessions();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(kv[2].session.as_deref(), Some(s.id.as_str()));
    // libkv: Behavior delete, TTL = ttl/2 (ttl = 2 x 10 s), LockDelay 1 ms; Go's body.
    assert_eq!(
        s.create_body,
        r#"{"Behavior":"delete","LockDelay":"1ms","TTL":"10s"}"#
    );
    assert_eq!((s.behavior.as_str(), s.ttl.as_str()), ("delete", "10s"));
    assert_eq!(s.lock_delay, Duration::from_millis(1));
    // The requests: flags on every KV write, the key taken with ?acquire, the session renewed.
    let reqs = emu.requests();
    let paths: Vec<String> = reqs
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect();
    let flags = format!("flags={LOCK_FLAG_VALUE}");
    assert!(
        paths.contains(&format!("PUT /v1/kv/rpcx_test?{flags}")),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!("PUT /v1/kv/rpcx_test/Arith?{flags}")),
        "{paths:?}"
    );
    assert!(paths.contains(&format!(
        "PUT /v1/kv/rpcx_test/Arith/tcp@127.0.0.1:8972?{flags}&acquire={}",
        s.id
    )));
    assert!(paths.contains(&format!("PUT /v1/session/renew/{}", s.id)));
    assert!(reqs.iter().all(|r| r.method != "PUT"
        || !r.path_and_query.starts_with("/v1/kv/")
        || r.path_and_query.contains(&flags)));
    // close deletes the entry and destroys the session.
    reg.close().await.unwrap();
    assert_eq!(emu.kv().len(), 2);
    assert!(emu.sessions().is_empty());
}

/// Entries written by hand over HTTP exactly as Go writes them (a session with Go's body,
/// `?acquire`, `flags`) are discovered, the server they name is called, and a hand-made
/// deletion is seen through the blocking-query watch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_entries_written_by_hand_in_go_layout_are_discovered() {
    let emu = emulator();
    let server = serve("go-layout").await;
    let key = key_of(&server);
    let flags = format!("flags={LOCK_FLAG_VALUE}");
    assert_eq!(
        raw_http(
            &emu,
            "PUT",
            &format!("/v1/kv/rpcx_test?{flags}"),
            "rpcx_path"
        ),
        (200, "true".into())
    );
    assert_eq!(
        raw_http(&emu, "PUT", &format!("/v1/kv/rpcx_test/Who?{flags}"), "Who"),
        (200, "true".into())
    );
    let (status, created) = raw_http(
        &emu,
        "PUT",
        "/v1/session/create",
        r#"{"Behavior":"delete","LockDelay":"1ms","TTL":"30s"}"#,
    );
    assert_eq!(status, 200, "{created}");
    let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["ID"]
        .as_str()
        .unwrap()
        .to_owned();
    let leaf = format!("/v1/kv/rpcx_test/Who/{key}");
    assert_eq!(
        raw_http(&emu, "PUT", &format!("{leaf}?{flags}&acquire={id}"), ""),
        (200, "true".into())
    );
    assert_eq!(
        raw_http(&emu, "PUT", &format!("{leaf}?{flags}"), "weight=7&group=go"),
        (200, "true".into())
    );
    // A sibling service whose name starts with ours is not listed.
    raw_http(
        &emu,
        "PUT",
        &format!("/v1/kv/rpcx_test/WhoElse/tcp@127.0.0.1:1?{flags}"),
        "",
    );

    let d = discovery(&emu.url("/rpcx_test?wait=30s")).await;
    let list = d.servers();
    assert_eq!(keys(&list), BTreeSet::from([key.clone()]));
    assert_eq!(list[0].raw_metadata(), "weight=7&group=go");
    let xc = xclient(&d);
    assert_eq!(names_seen(&xc, 3).await, set(&["go-layout"]));

    let mut rx = d.watch();
    assert_eq!(raw_http(&emu, "DELETE", &leaf, ""), (200, "true".into()));
    wait_list(&mut rx, "deleted by hand", |l| l.is_empty()).await;
    server.shutdown(Duration::from_secs(5)).await;
}

/// A discovery made while the agent is down fails clearly; an unknown mode is a URL error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_unreachable_and_bad_urls_are_clear_errors() {
    let mut emu = emulator();
    let url = emu.url("/rpcx_test?timeout=1s");
    emu.stop();
    let err = discovery_from_url(&RegistryUrl::parse(&url).unwrap(), "Who")
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let err = registrar_from_url(&RegistryUrl::parse(&format!("{url}&mode=raft")).unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mode"), "{err}");
}

/// `clone_for_service` (OneClient) lists another service from the same template.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_clone_for_service_lists_another_service() {
    let emu = emulator();
    let url = emu.url(&format!("/rpcx_test?{FAST}"));
    let reg = registrar(&url).await;
    reg.register("tcp@127.0.0.1:7", "Echo", "weight=3")
        .await
        .unwrap();
    let template = discovery(&url).await;
    let echo = template.clone_for_service("Echo");
    let mut rx = echo.watch();
    wait_list(&mut rx, "Echo via clone_for_service", |l| {
        keys(l) == BTreeSet::from(["tcp@127.0.0.1:7".to_owned()])
    })
    .await;
    assert_eq!(echo.servers()[0].weight(), 3);
    assert!(
        template.servers().is_empty(),
        "the template lists Who, not Echo"
    );
    reg.close().await.unwrap();
    wait_list(&mut rx, "Echo closed", |l| l.is_empty()).await;
}
