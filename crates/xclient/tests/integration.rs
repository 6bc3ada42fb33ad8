//! XClient against real fastrpc servers on 127.0.0.1 ephemeral ports.

use fastrpc_server::{Context, Metadata, Server, ServerHandle, ServiceError};
use fastrpc_xclient::{
    AttemptTimeout, BreakerPolicy, BreakerState, CallInfo, CallOptions, ClientPlugin, Discovery,
    FailMode, MultipleServersDiscovery, OneClient, Peer2PeerDiscovery, SelectMode, ServerEntry,
    XClient, XClientError, XClientOptions, XClientPool,
};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct WhoReply {
    server: String,
    n: u64,
}

/// A real fastrpc server with a call counter.
struct TestServer {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    handle: Option<ServerHandle>,
}

impl TestServer {
    async fn start(name: &str) -> TestServer {
        TestServer::start_with(name, "127.0.0.1:0".parse().unwrap(), Duration::ZERO, false).await
    }

    async fn start_with(name: &str, addr: SocketAddr, delay: Duration, fail: bool) -> TestServer {
        let calls = Arc::new(AtomicUsize::new(0));
        let (n, c) = (name.to_owned(), calls.clone());
        let server = Server::builder()
            .handler("Echo", "Who", move |_ctx: Context, arg: u64| {
                let (name, calls) = (n.clone(), c.clone());
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if fail {
                        return Err(ServiceError::new(format!("{name} refuses")));
                    }
                    Ok(WhoReply {
                        server: name,
                        n: arg,
                    })
                }
            })
            .handler("Echo", "Inspect", |ctx: Context, _: u64| async move {
                let left = ctx.remaining().map(|d| d.as_millis() as u64);
                let plugin = ctx.metadata().get("plugin").map(str::to_owned);
                Ok::<_, ServiceError>((left, plugin))
            })
            .handler(
                "Echo",
                "Subscribe",
                |ctx: Context, topic: String| async move {
                    let conn = ctx.connection().clone();
                    tokio::spawn(async move {
                        let _ = conn
                            .push("Echo", "Event", Metadata::new(), topic.into_bytes().into())
                            .await;
                    });
                    Ok::<_, ServiceError>(true)
                },
            )
            .build();
        let handle = server.serve_tcp(addr).await.expect("bind");
        TestServer {
            addr: handle.socket_addr().unwrap(),
            calls,
            handle: Some(handle),
        }
    }

    fn key(&self) -> String {
        format!("tcp@{}", self.addr)
    }

    fn entry(&self, meta: &str) -> ServerEntry {
        ServerEntry::new(self.key(), meta)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn kill(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown(Duration::from_millis(50)).await;
        }
    }
}

/// Polls `cond` until it holds; fails the test after `limit`.
async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn quick_options() -> XClientOptions {
    XClientOptions::default()
        .connect_timeout(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(100))
}

fn xclient(d: &MultipleServersDiscovery, mode: FailMode, opts: XClientOptions) -> XClient {
    XClient::new(
        "Echo",
        mode,
        SelectMode::RoundRobin,
        Arc::new(d.clone()),
        opts,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_loses_no_call_when_a_server_is_killed_mid_stream() {
    let mut servers = [
        TestServer::start("a").await,
        TestServer::start("b").await,
        TestServer::start("c").await,
    ];
    let d = MultipleServersDiscovery::new(servers.iter().map(|s| s.entry("")));
    let xc = xclient(&d, FailMode::Failover, quick_options());

    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (xc, done) = (xc.clone(), done.clone());
            tokio::spawn(async move {
                for i in 0..150u64 {
                    let n = w * 1000 + i;
                    let r: WhoReply = xc
                        .call("Who", &n)
                        .await
                        .unwrap_or_else(|e| panic!("call {n} failed: {e}"));
                    assert_eq!(r.n, n);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    // Kill server b while the stream is flowing.
    eventually(Duration::from_secs(10), "100 calls", || {
        done.load(Ordering::SeqCst) >= 100
    })
    .await;
    servers[1].kill().await;
    let b_calls_at_death = servers[1].calls();
    for w in workers {
        w.await.expect("a call failed");
    }
    assert_eq!(done.load(Ordering::SeqCst), 600);
    assert!(b_calls_at_death > 0, "b took traffic before it died");
    // (No assertion that b ran nothing after `shutdown` returned: the server can still
    // dispatch a request that passed its Running check just before; see the report.)
    // Calls cut off by the shutdown ran again elsewhere, so the servers ran at least 600.
    assert!(servers[0].calls() + servers[2].calls() + b_calls_at_death >= 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_server_takes_traffic_again() {
    let mut a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let d = MultipleServersDiscovery::new([a.entry(""), b.entry("")]);
    let xc = xclient(&d, FailMode::Failover, quick_options());
    for n in 0..10u64 {
        let _: WhoReply = xc.call("Who", &n).await.unwrap();
    }
    assert!(a.calls() > 0);

    let addr = a.addr;
    a.kill().await;
    for n in 0..20u64 {
        let r: WhoReply = xc.call("Who", &n).await.expect("b covers for a");
        assert_eq!(r.server, "b");
    }

    // Same port, fresh process state; the client is not rebuilt.
    let a2 = TestServer::start_with("a2", addr, Duration::ZERO, false).await;
    let mut served_by_a2 = 0;
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while served_by_a2 == 0 {
        assert!(tokio::time::Instant::now() < end, "a2 never got traffic");
        let r: WhoReply = xc.call("Who", &1u64).await.expect("no call fails");
        if r.server == "a2" {
            served_by_a2 += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(a2.calls() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_marked_inactive_stops_receiving_calls() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let d = MultipleServersDiscovery::new([a.entry("state=active"), b.entry("")]);
    let xc = xclient(&d, FailMode::Failover, quick_options());
    for n in 0..10u64 {
        let _: WhoReply = xc.call("Who", &n).await.unwrap();
    }
    assert_eq!((a.calls(), b.calls()), (5, 5), "round robin over both");

    d.update([a.entry("state=inactive"), b.entry("")]);
    eventually(Duration::from_secs(5), "client sees one server", || {
        xc.servers().len() == 1
    })
    .await;
    let a_before = a.calls();
    for n in 0..30u64 {
        let r: WhoReply = xc.call("Who", &n).await.unwrap();
        assert_eq!(r.server, "b");
    }
    assert_eq!(a.calls(), a_before);
    // Its connection was evicted (closed) too.
    let server_a = a.handle.as_ref().unwrap().server().clone();
    eventually(Duration::from_secs(5), "a's connection closed", || {
        server_a.connections().is_empty()
    })
    .await;

    // Back to active: it takes calls again.
    d.update([a.entry(""), b.entry("")]);
    eventually(Duration::from_secs(5), "client sees two servers", || {
        xc.servers().len() == 2
    })
    .await;
    for n in 0..10u64 {
        let _: WhoReply = xc.call("Who", &n).await.unwrap();
    }
    assert!(a.calls() > a_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_returns_the_fastest_and_broadcast_needs_all() {
    let ip = "127.0.0.1:0".parse().unwrap();
    let slow = TestServer::start_with("slow", ip, Duration::from_millis(600), false).await;
    let fast = TestServer::start_with("fast", ip, Duration::ZERO, false).await;
    let slower = TestServer::start_with("slower", ip, Duration::from_millis(900), false).await;
    let d = MultipleServersDiscovery::new([slow.entry(""), fast.entry(""), slower.entry("")]);
    let xc = xclient(&d, FailMode::Failfast, quick_options());

    for _ in 0..3 {
        let r = xc
            .fork::<_, WhoReply>("Who", &7u64, CallOptions::default())
            .await
            .unwrap();
        assert_eq!(r.value.server, "fast");
        assert_eq!(r.metadata.get("__ServerAddress"), Some(fast.key().as_str()));
    }

    // Broadcast: all three succeed.
    let fast_only = MultipleServersDiscovery::new([fast.entry("")]);
    let all = xclient(&fast_only, FailMode::Failfast, quick_options())
        .broadcast::<_, WhoReply>("Who", &1u64, CallOptions::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);

    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let bad = TestServer::start_with("bad", ip, Duration::ZERO, true).await;
    let d = MultipleServersDiscovery::new([a.entry(""), b.entry("")]);
    let xc = xclient(&d, FailMode::Failfast, quick_options());
    let all = xc
        .broadcast::<_, WhoReply>("Who", &2u64, CallOptions::default())
        .await
        .unwrap();
    let mut names: Vec<_> = all.into_iter().map(|r| r.value.server).collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);

    // One failing server fails the broadcast, with its error.
    d.update([a.entry(""), b.entry(""), bad.entry("")]);
    eventually(Duration::from_secs(5), "three servers", || {
        xc.servers().len() == 3
    })
    .await;
    let err = xc
        .broadcast::<_, WhoReply>("Who", &3u64, CallOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_service_error(), "{err}");
    assert_eq!(err.as_service_error().unwrap().message, "bad refuses");

    // Inform reports every server.
    let receipts = xc
        .inform::<_, WhoReply>("Who", &4u64, CallOptions::default())
        .await
        .unwrap();
    assert_eq!(receipts.len(), 3);
    for r in &receipts {
        assert_eq!(r.result.is_err(), r.address == bad.key(), "{}", r.address);
    }
    // Fork still succeeds with one bad server.
    let r = xc
        .fork::<_, WhoReply>("Who", &5u64, CallOptions::default())
        .await
        .unwrap();
    assert_ne!(r.value.server, "bad");
}

/// Accepts TCP connections and reads everything, answering nothing.
async fn black_hole() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_trips_its_breaker_and_traffic_moves_away() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let hole = format!("tcp@{}", black_hole().await);
    let d = MultipleServersDiscovery::new([
        a.entry(""),
        ServerEntry::new(hole.clone(), ""),
        b.entry(""),
    ]);
    let opts = quick_options().breaker(BreakerPolicy::consecutive(2, Duration::from_secs(60)));
    let xc = xclient(&d, FailMode::Failover, opts);
    assert_eq!(xc.breaker_state(&hole), Some(BreakerState::Closed));

    // Each Failover attempt gets a share of the 300 ms deadline: the silent server holds a
    // call for its share, then the call moves on; after two such timeouts the breaker opens.
    let timeout = CallOptions::default().timeout(Duration::from_millis(300));
    for n in 0..30u64 {
        let r = xc
            .call_with::<_, WhoReply>("Who", &n, timeout.clone())
            .await
            .unwrap_or_else(|e| panic!("call {n} failed: {e}"));
        assert_ne!(r.value.server, "");
    }
    assert_eq!(xc.breaker_state(&hole), Some(BreakerState::Open));
    assert_eq!(a.calls() + b.calls(), 30);

    // With the whole deadline per attempt (rpcx's way) the timeout fails the call.
    let opts = quick_options()
        .breaker(BreakerPolicy::consecutive(2, Duration::from_secs(60)))
        .attempt_timeout(AttemptTimeout::Whole);
    let xc = xclient(&d, FailMode::Failover, opts);
    let mut timeouts = 0;
    for n in 0..30u64 {
        match xc
            .call_with::<_, WhoReply>("Who", &n, timeout.clone())
            .await
        {
            Ok(r) => assert_ne!(r.value.server, ""),
            Err(e) => {
                // The caller's deadline is not retried; it counts against the breaker.
                assert!(e.is_timeout(), "{e}");
                assert_eq!(e.server(), Some(hole.as_str()));
                timeouts += 1;
            }
        }
    }
    assert_eq!(timeouts, 2, "the breaker opened after two timeouts");
    assert_eq!(xc.breaker_state(&hole), Some(BreakerState::Open));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidirectional_client_receives_pushes_from_every_server() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let d = MultipleServersDiscovery::new([a.entry(""), b.entry("")]);
    let xc = xclient(&d, FailMode::Failover, quick_options().bidirectional(16));
    let mut pushes = xc.take_push_receiver().unwrap();
    assert!(xc.take_push_receiver().is_none());
    for topic in ["t1", "t2"] {
        let ok: bool = xc.call("Subscribe", &topic.to_owned()).await.unwrap();
        assert!(ok);
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        let p = tokio::time::timeout(Duration::from_secs(5), pushes.recv())
            .await
            .expect("push arrives")
            .unwrap();
        assert_eq!(&*p.message.service_method, "Event");
        got.push((
            p.server,
            String::from_utf8(p.message.payload.to_vec()).unwrap(),
        ));
    }
    got.sort();
    let mut want = vec![(a.key(), "t1".to_owned()), (b.key(), "t2".to_owned())];
    want.sort();
    assert_eq!(got, want);
}

#[derive(Default)]
struct Counting {
    pre: AtomicUsize,
    post_ok: AtomicUsize,
    post_err: AtomicUsize,
    connected: AtomicUsize,
}

impl ClientPlugin for Counting {
    fn pre_call(&self, call: &CallInfo<'_>) -> Result<(), String> {
        self.pre.fetch_add(1, Ordering::SeqCst);
        if call.method == "Forbidden" {
            return Err("not allowed".into());
        }
        Ok(())
    }

    fn post_call(&self, _: &CallInfo<'_>, _: Option<&str>, outcome: Result<(), &XClientError>) {
        match outcome {
            Ok(()) => self.post_ok.fetch_add(1, Ordering::SeqCst),
            Err(_) => self.post_err.fetch_add(1, Ordering::SeqCst),
        };
    }

    fn conn_created(&self, _server: &str) {
        self.connected.fetch_add(1, Ordering::SeqCst);
    }

    fn before_encode(&self, msg: &mut fastrpc_xclient::Message) {
        msg.metadata.insert("plugin", "yes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_pool_and_one_client() {
    let a = TestServer::start("a").await;
    let counting = Arc::new(Counting::default());
    let d: Arc<dyn Discovery> = Arc::new(Peer2PeerDiscovery::new(a.key(), ""));
    let mut opts = quick_options();
    opts.plugins.push(counting.clone());

    let pool = XClientPool::new(
        3,
        "Echo",
        FailMode::Failover,
        SelectMode::Random,
        d.clone(),
        opts.clone(),
    )
    .unwrap();
    for n in 0..6u64 {
        let r: WhoReply = pool.get().call("Who", &n).await.unwrap();
        assert_eq!(r.n, n);
    }
    assert_eq!(
        counting.connected.load(Ordering::SeqCst),
        3,
        "one connection per pool member"
    );
    let err = pool
        .get()
        .call::<_, bool>("Forbidden", &0u64)
        .await
        .unwrap_err();
    assert!(matches!(err, XClientError::Plugin(_)));
    // An unknown method is the service's error: reported, never retried.
    let err = pool.get().call::<_, bool>("Nope", &0u64).await.unwrap_err();
    assert!(err.is_service_error(), "{err}");
    assert_eq!(counting.pre.load(Ordering::SeqCst), 8);
    assert_eq!(counting.post_ok.load(Ordering::SeqCst), 6);
    assert_eq!(counting.post_err.load(Ordering::SeqCst), 1);
    assert_eq!(a.calls(), 6);

    // The deadline reaches the server as `__ServerTimeout`; the plugin's metadata too.
    let (left, plugin): (Option<u64>, Option<String>) = pool
        .get()
        .call_with(
            "Inspect",
            &0u64,
            CallOptions::default().timeout(Duration::from_secs(2)),
        )
        .await
        .unwrap()
        .value;
    assert!(matches!(left, Some(ms) if ms > 0 && ms <= 2000), "{left:?}");
    assert_eq!(plugin.as_deref(), Some("yes"));

    let one = OneClient::new(FailMode::Failover, SelectMode::RoundRobin, d, opts);
    let r: WhoReply = one.call("Echo", "Who", &9u64).await.unwrap();
    assert_eq!(r.n, 9);
    let err = one
        .call::<_, bool>("Missing", "Who", &9u64)
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .message
            .contains("can't find service")
    );
    pool.close();
    one.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_share_one_dial() {
    let a = TestServer::start("a").await;
    let counting = Arc::new(Counting::default());
    let mut opts = quick_options();
    opts.plugins.push(counting.clone());
    let d: Arc<dyn Discovery> = Arc::new(Peer2PeerDiscovery::new(a.key(), ""));
    let xc = XClient::new("Echo", FailMode::Failfast, SelectMode::Random, d, opts).unwrap();
    let calls = (0..20u64).map(|n| {
        let xc = xc.clone();
        async move { xc.call::<_, WhoReply>("Who", &n).await }
    });
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(
        counting.connected.load(Ordering::SeqCst),
        1,
        "one dial for 20 callers"
    );
    assert_eq!(a.handle.as_ref().unwrap().server().connections().len(), 1);
}
