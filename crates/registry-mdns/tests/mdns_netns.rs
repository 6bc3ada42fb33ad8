//! The mDNS registry on a real multicast link: the loopback interface of a network namespace
//! the test makes (`ip netns add`), so that no multicast leaves it. The outer test creates
//! the namespace and re-runs this binary inside it (`ip netns exec`) once per inner test
//! (`--ignored --exact`, with an environment marker); the inner tests refuse to run outside
//! a namespace whose only interface is `lo`. Without permission to create namespaces the
//! outer test is skipped with a message, or fails when `FASTRPC_REQUIRE_INFRA=1`.

use fastrpc_discovery::{Discovery, Registrar, RegistryUrl, ServerList};
use fastrpc_registry_mdns::{
    MdnsDiscovery, MdnsOptions, MdnsRegistrar, ServiceMeta, discovery_from_url, registrar_from_url,
    txt_for,
};
use fastrpc_server::{Context, RegistrarPlugin, Server, ServerHandle, ServiceError};
use fastrpc_xclient::{FailMode, SelectMode, XClient, XClientOptions};
use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo, TxtProperty};
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

const MARKER: &str = "FASTRPC_MDNS_NETNS";
const INNER: &[&str] = &[
    "inner_register_discover_add_and_shut_down_gracefully",
    "inner_killed_server_disappears_after_two_missed_browses",
    "inner_responder_restart_while_calls_go_on_fails_no_call",
    "inner_layout_matches_go_byte_for_byte",
    "inner_go_layout_announced_by_hand_is_discovered",
];
const FAST: &str = "interval=1s&timeout=500ms";
const WAIT: Duration = Duration::from_secs(30);

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn skip_or_fail(msg: &str) {
    if std::env::var("FASTRPC_REQUIRE_INFRA").is_ok_and(|v| v == "1") {
        panic!("{msg} (FASTRPC_REQUIRE_INFRA=1)");
    }
    eprintln!("skipped: {msg}");
}

#[test]
fn mdns_tests_in_a_network_namespace() {
    if std::env::var_os(MARKER).is_some() {
        return; // already inside: only the inner tests run here
    }
    let ns = format!("fastrpc-mdns-{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &ns]).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return skip_or_fail(&format!(
                "cannot create a network namespace for the mDNS tests (`ip netns add` needs root or CAP_SYS_ADMIN): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Err(e) => {
            return skip_or_fail(&format!(
                "`ip` (iproute2) is needed for the mDNS tests: {e}; run `cargo xtask infra install`"
            ));
        }
    }
    let _guard = Netns(ns.clone());
    let up = Command::new("ip")
        .args(["-n", &ns, "link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(up.success(), "ip -n {ns} link set lo up");
    let exe = std::env::current_exe().unwrap();
    for name in INNER {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(&exe)
            .args([
                name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(MARKER, &ns)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{name} failed inside {ns}:\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("1 passed"),
            "{name} did not run inside {ns}:\n{stdout}"
        );
    }
}

/// True only inside the namespace made above (marker set, `lo` the only interface).
fn inside_namespace() -> bool {
    if std::env::var_os(MARKER).is_none() {
        eprintln!(
            "skipped: runs only inside the namespace made by mdns_tests_in_a_network_namespace"
        );
        return false;
    }
    let interfaces: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "refusing to send multicast outside a lo-only namespace"
    );
    true
}

async fn serve_registered(name: &'static str, service: &str, url: &str) -> ServerHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    let registrar = registrar_from_url(&RegistryUrl::parse(url).unwrap())
        .await
        .unwrap();
    serve_on(
        listener,
        name,
        service,
        Some(RegistrarPlugin::new(registrar, key)),
    )
}

fn serve_on(
    listener: tokio::net::TcpListener,
    name: &'static str,
    service: &str,
    plugin: Option<RegistrarPlugin>,
) -> ServerHandle {
    let mut b = Server::builder()
        .handler(service, "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .service_metadata(service, "weight=1&group=test");
    if let Some(p) = plugin {
        b = b.plugin(p);
    }
    b.build().serve_listener(listener).unwrap()
}

async fn serve(name: &'static str, service: &str) -> ServerHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(listener, name, service, None)
}

fn key_of(h: &ServerHandle) -> String {
    format!("tcp@{}", h.local_addr())
}

async fn discovery(service: &str) -> MdnsDiscovery {
    discovery_from_url(
        &RegistryUrl::parse(&format!("mdns://?{FAST}")).unwrap(),
        service,
    )
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

fn xclient(service: &str, d: &MdnsDiscovery) -> XClient {
    XClient::new(
        service,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_register_discover_add_and_shut_down_gracefully() {
    if !inside_namespace() {
        return;
    }
    let url = "mdns://?instance=reg";
    let d = discovery("Who").await;
    let mut rx = d.watch();
    let a = serve_registered("a", "Who", url).await;
    // A server of another service on the link is not listed (Go would list it).
    let other = serve_registered("other", "Other", url).await;
    wait_list(&mut rx, "a", |l| keys(l) == BTreeSet::from([key_of(&a)])).await;
    assert_eq!(d.servers()[0].raw_metadata(), "weight=1&group=test");
    let xc = xclient("Who", &d);
    assert_eq!(names_seen(&xc, 5).await, set(&["a"]));
    let b = serve_registered("b", "Who", url).await;
    wait_list(&mut rx, "a and b", |l| l.len() == 2).await;
    assert_eq!(names_seen(&xc, 20).await, set(&["a", "b"]));
    a.shutdown(Duration::from_secs(5)).await;
    wait_list(&mut rx, "a gone", |l| {
        keys(l) == BTreeSet::from([key_of(&b)])
    })
    .await;
    assert_eq!(names_seen(&xc, 10).await, set(&["b"]));
    b.shutdown(Duration::from_secs(5)).await;
    other.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_killed_server_disappears_after_two_missed_browses() {
    if !inside_namespace() {
        return;
    }
    let d = discovery("Who").await;
    let mut rx = d.watch();
    let survivor = serve_registered("survivor", "Who", "mdns://?instance=survivor").await;
    let victim = serve("victim", "Who").await;
    let reg = MdnsRegistrar::new(MdnsOptions {
        instance: "victim".into(),
        ..MdnsOptions::default()
    })
    .unwrap();
    reg.register(&key_of(&victim), "Who", "weight=1")
        .await
        .unwrap();
    wait_list(&mut rx, "two servers", |l| l.len() == 2).await;
    let xc = xclient("Who", &d);
    assert_eq!(names_seen(&xc, 20).await, set(&["survivor", "victim"]));
    // "Kill": the responder stops without goodbyes; the server goes away.
    drop(reg);
    victim.shutdown(Duration::from_secs(5)).await;
    wait_list(&mut rx, "victim gone", |l| {
        keys(l) == BTreeSet::from([key_of(&survivor)])
    })
    .await;
    assert_eq!(names_seen(&xc, 10).await, set(&["survivor"]));
    survivor.shutdown(Duration::from_secs(5)).await;
}

/// mDNS has no registry server; its counterpart of "the registry restarts" is the server's
/// responder going away and coming back while calls go on: one missed browse removes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_responder_restart_while_calls_go_on_fails_no_call() {
    if !inside_namespace() {
        return;
    }
    let server = serve("s", "Who").await;
    let opts = MdnsOptions {
        instance: "restart".into(),
        ..MdnsOptions::default()
    };
    let reg = MdnsRegistrar::new(opts.clone()).unwrap();
    reg.register(&key_of(&server), "Who", "weight=1")
        .await
        .unwrap();
    let d = discovery("Who").await;
    let mut rx = d.watch();
    wait_list(&mut rx, "server", |l| l.len() == 1).await;
    let xc = Arc::new(xclient("Who", &d));
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
    // Gone for less than two browse cycles (1.5 s each here), probing included: never
    // dropped. (Gone for longer, it is indistinguishable from a dead server.)
    drop(reg);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reg = MdnsRegistrar::new(opts).unwrap();
    reg.register(&key_of(&server), "Who", "weight=2")
        .await
        .unwrap();
    wait_list(&mut rx, "re-announced", |l| {
        l.len() == 1 && l[0].weight() == 2
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    caller.await.unwrap();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no call may fail");
    assert!(ok.load(Ordering::Relaxed) > 0);
    reg.close().await.unwrap();
    server.shutdown(Duration::from_secs(5)).await;
}

/// The TXT string on the wire, read with a plain mdns-sd browser, compared with what Go's
/// `MDNSRegisterPlugin` writes for the same service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_layout_matches_go_byte_for_byte() {
    if !inside_namespace() {
        return;
    }
    let reg = MdnsRegistrar::new(MdnsOptions {
        instance: "layout".into(),
        ..MdnsOptions::default()
    })
    .unwrap();
    reg.register("tcp@127.0.0.1:8972", "Arith", "weight=10&group=g1")
        .await
        .unwrap();
    let browser = ServiceDaemon::new().unwrap();
    browser
        .enable_interface(mdns_sd::IfKind::LoopbackV4)
        .unwrap();
    let events = browser.browse("_rpcxservices._tcp.local.").unwrap();
    let info = tokio::time::timeout(WAIT, async {
        loop {
            if let ServiceEvent::ServiceResolved(info) = events.recv_async().await.unwrap() {
                break info;
            }
        }
    })
    .await
    .expect("resolved");
    assert_eq!(info.get_fullname(), "layout-8972._rpcxservices._tcp.local.");
    assert_eq!(info.get_port(), 8972);
    let props: Vec<&TxtProperty> = info.get_properties().iter().collect();
    assert_eq!(props.len(), 1, "one TXT string");
    assert_eq!(props[0].val(), None);
    assert_eq!(
        props[0].key(),
        "%5B%7B%22service%22%3A%22Arith%22%2C%22meta%22%3A%22weight%3D10%5Cu0026group%3Dg1%22%2C%22service_address%22%3A%22tcp%40127.0.0.1%3A8972%22%7D%5D"
    );
    let _ = browser.shutdown();
    reg.close().await.unwrap();
}

/// An instance announced by hand with Go's TXT string (two services, as one Go server with
/// two services announces them) is discovered; only the discovery's own service is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_go_layout_announced_by_hand_is_discovered() {
    if !inside_namespace() {
        return;
    }
    let server = serve("go-layout", "Who").await;
    let key = key_of(&server);
    let txt = txt_for(&[
        ServiceMeta {
            service: "Who".into(),
            meta: "weight=7&group=go".into(),
            service_address: key.clone(),
        },
        ServiceMeta {
            service: "Other".into(),
            meta: String::new(),
            service_address: "tcp@127.0.0.1:1".into(),
        },
    ]);
    assert!(txt.len() <= 255);
    let responder = ServiceDaemon::new().unwrap();
    responder
        .enable_interface(mdns_sd::IfKind::LoopbackV4)
        .unwrap();
    let port = server.socket_addr().unwrap().port();
    let info = ServiceInfo::new(
        "_rpcxservices._tcp.local.",
        "gohost",
        "gohost.local.",
        "127.0.0.1",
        port,
        vec![TxtProperty::from(txt.as_str())],
    )
    .unwrap();
    responder.register(info).unwrap();
    let d = discovery("Who").await;
    let mut rx = d.watch();
    wait_list(&mut rx, "hand-made entry", |l| {
        keys(l) == BTreeSet::from([key.clone()])
    })
    .await;
    assert_eq!(d.servers()[0].raw_metadata(), "weight=7&group=go");
    let xc = xclient("Who", &d);
    assert_eq!(names_seen(&xc, 3).await, set(&["go-layout"]));
    let _ = responder.shutdown();
    server.shutdown(Duration::from_secs(5)).await;
}
