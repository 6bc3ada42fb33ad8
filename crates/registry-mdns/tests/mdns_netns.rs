//! The mDNS registry on a real multicast link: the loopback interface of a network namespace
//! the test makes (`ip netns add`), so that no multicast leaves it. The outer test creates
//! the namespace and re-runs this binary inside it (`ip netns exec`) once per inner test
//! (`--ignored --exact`, with an environment marker); the inner tests refuse to run outside
//! a namespace whose only interface is `lo`. Without permission to create namespaces the
//! outer test is skipped with a message, or fails when `FASTRPC_REQUIRE_INFRA=1`.

use fastrpc_discovery::{Discovery, Registrar, RegistryUrl, ServerList};
use fastrpc_registry_mdns::wire::{browse_query, parse_query, parse_response};
use fastrpc_registry_mdns::{
    MdnsDiscovery, MdnsOptions, MdnsRegistrar, ServiceMeta, browse, discovery_from_url,
    registrar_from_url, txt_for,
};
use fastrpc_server::{Context, RegistrarPlugin, Server, ServerHandle, ServiceError};
use fastrpc_xclient::{FailMode, SelectMode, XClient, XClientOptions};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
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
    "inner_python_zeroconf_and_fastrpc_find_each_other",
    "inner_tcp_form_is_a_separate_type",
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
    // Gone for less than two browse cycles (1.5 s each here): never
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

/// The TXT string on the wire, read by a one-shot querier (a plain UDP socket on an
/// ephemeral port, answered by unicast), compared with what Go's `MDNSRegisterPlugin`
/// writes for the same service; the type is Go's `_rpcxservices.local.`.
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
    let querier = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let query = browse_query("_rpcxservices.local.").unwrap();
    let found = tokio::time::timeout(WAIT, async {
        let mut buf = vec![0; 9001];
        loop {
            querier.send_to(&query, "224.0.0.251:5353").await.unwrap();
            let got = tokio::time::timeout(Duration::from_secs(1), querier.recv(&mut buf)).await;
            let Ok(Ok(n)) = got else { continue };
            let found = parse_response(&buf[..n], "_rpcxservices.local.", 16).unwrap();
            if let Some(f) = found.into_iter().find(|f| f.txt.is_some()) {
                break f;
            }
        }
    })
    .await
    .expect("answered");
    assert_eq!(found.name, "layout-8972._rpcxservices.local");
    assert_eq!(found.port, Some(8972));
    assert_eq!(found.host.as_deref(), Some("layout-8972.local"));
    assert_eq!(found.addrs, [Ipv4Addr::LOCALHOST]);
    assert_eq!(
        found.txt.unwrap(),
        [
            "%5B%7B%22service%22%3A%22Arith%22%2C%22meta%22%3A%22weight%3D10%5Cu0026group%3Dg1%22%2C%22service_address%22%3A%22tcp%40127.0.0.1%3A8972%22%7D%5D"
        ]
    );
    reg.close().await.unwrap();
}

/// A stand-in for a Go rpcx server's zeroconf responder: answers every browse of
/// `_rpcxservices.local.` with Go's message from the golden file (built by dnspython).
fn go_responder(answer: Vec<u8>) -> tokio::task::JoinHandle<()> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    socket.set_reuse_address(true).unwrap();
    socket.set_reuse_port(true).unwrap();
    socket
        .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 5353)).into())
        .unwrap();
    socket
        .join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 251), &Ipv4Addr::LOCALHOST)
        .unwrap();
    socket.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    socket.set_nonblocking(true).unwrap();
    let socket = tokio::net::UdpSocket::from_std(socket.into()).unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0; 9001];
        loop {
            let (n, _) = socket.recv_from(&mut buf).await.unwrap();
            let asks = parse_query(&buf[..n]).unwrap_or_default();
            if asks
                .iter()
                .any(|q| q.name == "_rpcxservices.local" && q.qtype == 12)
            {
                socket.send_to(&answer, "224.0.0.251:5353").await.unwrap();
            }
        }
    })
}

fn golden(name: &str) -> Vec<u8> {
    let hex = include_str!("golden/zeroconf_shapes.txt")
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Go's answer to a browse (two services of host `gohost` on port 8972, as one Go server
/// with two services announces them) is discovered; only the discovery's own service is
/// kept, and it is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_go_layout_announced_by_hand_is_discovered() {
    if !inside_namespace() {
        return;
    }
    // The namespace has its own ports: the golden message's 127.0.0.1:8972 is free here.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8972")
        .await
        .unwrap();
    let server = serve_on(listener, "go-layout", "Who", None);
    let key = key_of(&server);
    assert_eq!(key, "tcp@127.0.0.1:8972");
    let responder = go_responder(golden("browse_answer"));
    let d = discovery("Who").await;
    let mut rx = d.watch();
    wait_list(&mut rx, "Go's entry", |l| {
        keys(l) == BTreeSet::from([key.clone()])
    })
    .await;
    assert_eq!(d.servers()[0].raw_metadata(), "weight=7&group=go");
    let xc = xclient("Who", &d);
    assert_eq!(names_seen(&xc, 3).await, set(&["go-layout"]));
    responder.abort();
    server.shutdown(Duration::from_secs(5)).await;
}

/// The Python (`FASTRPC_PYTHON`, else `python3`) if it has a python-zeroconf that can
/// register a type without `_tcp` (`register_service(..., strict=False)`: 0.154 can,
/// Debian 12's 0.47 cannot).
fn python_with_zeroconf() -> Option<String> {
    let python = std::env::var("FASTRPC_PYTHON").unwrap_or_else(|_| "python3".into());
    let check = "import inspect, zeroconf; \
        assert 'strict' in inspect.signature(zeroconf.Zeroconf.register_service).parameters";
    let ok = Command::new(&python)
        .args(["-c", check])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// An independent mDNS implementation on the link: python-zeroconf registers an instance
/// of Go's `_rpcxservices.local.` with rpcx's TXT layout, which our discovery finds and
/// calls; and it resolves the instance our registrar announces, reading our TXT string.
/// Skipped with a message when no Python with `zeroconf` is found (set FASTRPC_PYTHON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_python_zeroconf_and_fastrpc_find_each_other() {
    if !inside_namespace() {
        return;
    }
    let Some(python) = python_with_zeroconf() else {
        eprintln!(
            "skipped: no Python with a python-zeroconf that takes strict=False \
             (pip install zeroconf; set FASTRPC_PYTHON)"
        );
        return;
    };
    let py_server = serve("py", "Who").await;
    let py_key = key_of(&py_server);
    let py_txt = txt_for(&[ServiceMeta {
        service: "Who".into(),
        meta: "weight=3&group=py".into(),
        service_address: py_key.clone(),
    }]);
    let ours = serve("ours", "Who").await;
    let reg = MdnsRegistrar::new(MdnsOptions {
        instance: "ours".into(),
        ..MdnsOptions::default()
    })
    .unwrap();
    reg.register(&key_of(&ours), "Who", "weight=1")
        .await
        .unwrap();
    let our_port = ours.socket_addr().unwrap().port();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/pyzeroconf_peer.py"
    );
    let child = Command::new(&python)
        .args([script, "20"])
        .arg(py_server.socket_addr().unwrap().port().to_string())
        .arg(&py_txt)
        .arg(format!("ours-{our_port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output());
    let d = discovery("Who").await;
    let mut rx = d.watch();
    wait_list(&mut rx, "python-zeroconf's instance", |l| {
        keys(l).contains(&py_key)
    })
    .await;
    let entry = d
        .servers()
        .iter()
        .find(|e| e.key() == py_key)
        .cloned()
        .unwrap();
    assert_eq!(entry.raw_metadata(), "weight=3&group=py");
    let output = output.await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "found ours-{our_port}._rpcxservices.local. {our_port} {}",
        txt_for(&[ServiceMeta {
            service: "Who".into(),
            meta: "weight=1".into(),
            service_address: key_of(&ours),
        }])
    );
    assert!(
        stdout.lines().any(|l| l == expected),
        "python-zeroconf did not resolve our instance; wanted `{expected}`:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    reg.close().await.unwrap();
    ours.shutdown(Duration::from_secs(5)).await;
    py_server.shutdown(Duration::from_secs(5)).await;
}

/// `?service=_rpcxservices._tcp` (the RFC 6763 form) is found by a discovery of that form,
/// and not by one of Go's type (the default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the network namespace made by mdns_tests_in_a_network_namespace"]
async fn inner_tcp_form_is_a_separate_type() {
    if !inside_namespace() {
        return;
    }
    let tcp = "service=_rpcxservices._tcp";
    let server = serve_registered(
        "tcp-form",
        "Who",
        &format!("mdns://?instance=tcpform&{tcp}"),
    )
    .await;
    let d = discovery_from_url(
        &RegistryUrl::parse(&format!("mdns://?{FAST}&{tcp}")).unwrap(),
        "Who",
    )
    .await
    .unwrap();
    let mut rx = d.watch();
    wait_list(&mut rx, "the _tcp instance", |l| {
        keys(l) == BTreeSet::from([key_of(&server)])
    })
    .await;
    let go_type = browse(&MdnsOptions {
        timeout: Duration::from_secs(1),
        ..MdnsOptions::default()
    })
    .await
    .unwrap();
    assert!(
        go_type.iter().all(|s| s.service_address != key_of(&server)),
        "a browse of _rpcxservices.local. found a _tcp instance: {go_type:?}"
    );
    server.shutdown(Duration::from_secs(5)).await;
}
