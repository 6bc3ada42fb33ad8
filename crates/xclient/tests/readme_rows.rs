//! README rows of the XClient, each run through its public API against real servers on
//! 127.0.0.1: `oneshot`, auth, a user selector, group filtering, closest selection, and DNS
//! discovery with its refresh.

use fastrpc_server::{Context, Message, Server, ServerHandle, ServiceError};
use fastrpc_xclient::selector::SelectRequest;
use fastrpc_xclient::{
    CallOptions, Discovery, DnsDiscovery, FailMode, MultipleServersDiscovery, SelectMode, Selector,
    ServerEntry, XClient, XClientOptions,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(10);

/// A real server that answers `Svc.Who` with its name and records `Svc.Note` arguments and
/// the auth tokens it saw.
struct Named {
    handle: ServerHandle,
    calls: Arc<AtomicUsize>,
    notes: tokio::sync::mpsc::UnboundedReceiver<u64>,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl Named {
    async fn start(name: &'static str, addr: &str, auth: Option<&'static str>) -> Named {
        let calls = Arc::new(AtomicUsize::new(0));
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let (tx, notes) = tokio::sync::mpsc::unbounded_channel();
        let c = calls.clone();
        let t = tokens.clone();
        let mut builder = Server::builder()
            .handler("Svc", "Who", move |ctx: Context, _: u64| {
                c.fetch_add(1, Ordering::SeqCst);
                if let Some(tok) = ctx.auth_token() {
                    t.lock().unwrap().push(tok.to_owned());
                }
                async move { Ok::<_, ServiceError>(name.to_owned()) }
            })
            .handler("Svc", "Note", move |_ctx: Context, n: u64| {
                let _ = tx.send(n);
                async move { Ok::<_, ServiceError>(()) }
            });
        if let Some(good) = auth {
            builder = builder.auth(move |_m: &Message, token: &str| {
                if token == good {
                    Ok(())
                } else {
                    Err("invalid token".to_owned())
                }
            });
        }
        let handle = builder.build().serve_tcp(addr).await.unwrap();
        Named {
            handle,
            calls,
            notes,
            tokens,
        }
    }

    fn key(&self) -> String {
        format!("tcp@{}", self.handle.local_addr())
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn xclient(
    servers: impl IntoIterator<Item = ServerEntry>,
    mode: SelectMode,
    opts: XClientOptions,
) -> XClient {
    let d = MultipleServersDiscovery::new(servers);
    XClient::new("Svc", FailMode::Failover, mode, Arc::new(d), opts).unwrap()
}

async fn who(xc: &XClient) -> String {
    xc.call("Who", &0u64).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneshot_delivers_without_a_reply() {
    let mut a = Named::start("a", "127.0.0.1:0", None).await;
    let xc = xclient(
        [ServerEntry::new(a.key(), "")],
        SelectMode::RoundRobin,
        XClientOptions::default(),
    );
    for n in [7u64, 8, 9] {
        xc.oneshot("Note", &n, CallOptions::default())
            .await
            .unwrap();
    }
    for n in [7u64, 8, 9] {
        let got = tokio::time::timeout(PATIENCE, a.notes.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, n);
    }
    // An ordinary call on the same connection still gets its reply.
    assert_eq!(who(&xc).await, "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_set_on_the_xclient_reaches_the_server() {
    let a = Named::start("a", "127.0.0.1:0", Some("good")).await;
    let entry = || [ServerEntry::new(a.key(), "")];

    let good = xclient(entry(), SelectMode::Random, XClientOptions::default());
    good.auth("good");
    assert_eq!(who(&good).await, "a");
    assert_eq!(*a.tokens.lock().unwrap(), ["good"]);

    let bad = xclient(entry(), SelectMode::Random, XClientOptions::default());
    bad.auth("forged");
    let e = bad.call::<_, String>("Who", &0u64).await.unwrap_err();
    assert!(e.is_service_error(), "{e}");
    assert!(e.to_string().contains("invalid token"), "{e}");

    let none = xclient(entry(), SelectMode::Random, XClientOptions::default());
    let e = none.call::<_, String>("Who", &0u64).await.unwrap_err();
    assert!(e.to_string().contains("invalid token"), "{e}");
    assert_eq!(a.calls(), 1, "rejected calls never reach the handler");
}

/// Sends `Who` to the server whose key ends with `port`, everything else to the first.
struct PinByPort(Mutex<String>);

impl Selector for PinByPort {
    fn select<'s>(
        &self,
        req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        let want = self.0.lock().unwrap().clone();
        match req.method {
            "Who" => servers.iter().find(|s| s.key().ends_with(&want)),
            _ => servers.first(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_selector_chooses_the_server() {
    let a = Named::start("a", "127.0.0.1:0", None).await;
    let b = Named::start("b", "127.0.0.1:0", None).await;
    let port_of = |n: &Named| format!(":{}", n.handle.socket_addr().unwrap().port());
    let d = MultipleServersDiscovery::new([
        ServerEntry::new(a.key(), ""),
        ServerEntry::new(b.key(), ""),
    ]);
    let xc = XClient::with_selector(
        "Svc",
        FailMode::Failfast,
        Arc::new(PinByPort(Mutex::new(port_of(&b)))),
        Arc::new(d),
        XClientOptions::default(),
    );
    assert_eq!(xc.select_mode(), SelectMode::SelectByUser);
    for _ in 0..10 {
        assert_eq!(who(&xc).await, "b");
    }
    // Replaced at run time.
    xc.set_selector(Arc::new(PinByPort(Mutex::new(port_of(&a)))));
    for _ in 0..10 {
        assert_eq!(who(&xc).await, "a");
    }
    assert_eq!((a.calls(), b.calls()), (10, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_keeps_calls_inside_the_group() {
    let blue = Named::start("blue", "127.0.0.1:0", None).await;
    let green = Named::start("green", "127.0.0.1:0", None).await;
    let both = Named::start("both", "127.0.0.1:0", None).await;
    let entries = || {
        [
            ServerEntry::new(blue.key(), "group=blue"),
            ServerEntry::new(green.key(), "group=green"),
            ServerEntry::new(both.key(), "group=blue&group=green"),
        ]
    };
    let xc = xclient(
        entries(),
        SelectMode::RoundRobin,
        XClientOptions::default().group("green"),
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        seen.insert(who(&xc).await);
    }
    assert_eq!(seen, ["both", "green"].map(String::from).into());
    assert_eq!(blue.calls(), 0);
    let listed: Vec<String> = xc.servers().iter().map(|s| s.key().to_owned()).collect();
    assert!(!listed.contains(&blue.key()), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closest_selection_follows_the_client_position() {
    let paris = Named::start("paris", "127.0.0.1:0", None).await;
    let new_york = Named::start("new-york", "127.0.0.1:0", None).await;
    let entries = [
        ServerEntry::new(paris.key(), "latitude=48.8566&longitude=2.3522"),
        ServerEntry::new(new_york.key(), "latitude=40.7128&longitude=-74.0060"),
    ];
    // A client in London.
    let xc = xclient(
        entries,
        SelectMode::Closest,
        XClientOptions::default().position(51.5074, -0.1278),
    );
    for _ in 0..10 {
        assert_eq!(who(&xc).await, "paris");
    }
    // The client moves to Boston.
    xc.configure_geo(42.3601, -71.0589);
    for _ in 0..10 {
        assert_eq!(who(&xc).await, "new-york");
    }
    assert_eq!((paris.calls(), new_york.calls()), (10, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_discovery_resolves_refreshes_and_serves_calls() {
    let a = Named::start("a", "127.0.0.1:0", None).await;
    let port = a.handle.socket_addr().unwrap().port();
    let want = format!("tcp@127.0.0.1:{port}");
    let dns = DnsDiscovery::new("localhost", "tcp", port, Duration::from_millis(20)).await;
    let keys = |d: &DnsDiscovery| -> Vec<String> {
        d.servers().iter().map(|s| s.key().to_owned()).collect()
    };
    assert!(keys(&dns).contains(&want), "{:?}", keys(&dns));

    // Refreshes of an unchanged name keep the list and notify nobody.
    let mut watch = dns.watch();
    watch.mark_unchanged();
    let before = keys(&dns);
    let quiet = tokio::time::timeout(Duration::from_millis(300), watch.changed()).await;
    assert!(quiet.is_err(), "an unchanged lookup notified watchers");
    assert_eq!(keys(&dns), before);

    // Calls go through it (Failover: `localhost` may also resolve to ::1, where nobody
    // listens).
    let xc = XClient::new(
        "Svc",
        FailMode::Failover,
        SelectMode::RoundRobin,
        Arc::new(dns.clone()),
        XClientOptions::default().retries(2),
    )
    .unwrap();
    for _ in 0..5 {
        assert_eq!(who(&xc).await, "a");
    }
    dns.close();
}
