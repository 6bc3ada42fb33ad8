//! The XClient under what real fleets do, with real servers on 127.0.0.1 and 32 callers: a
//! server that hangs (accepts and never answers), a full outage, quick restarts.
//!
//! No test asserts a speed. Time bounds are the targets, loosened where a loaded
//! 2-core machine makes them noisy; the measured figures are printed (`--nocapture`).

use fastrpc_server::{Context, Server, ServerHandle, ServiceError};
use fastrpc_xclient::{
    BreakerState, CallOptions, FailMode, MultipleServersDiscovery, SelectMode, ServerEntry,
    XClient, XClientError, XClientOptions,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

const CALLERS: usize = 32;
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// A real server of `Arith.Mul` that can be stopped and started again on the same address.
struct TestServer {
    addr: SocketAddr,
    handle: Option<ServerHandle>,
}

impl TestServer {
    async fn start() -> TestServer {
        let handle = serve("127.0.0.1:0".parse().unwrap()).await;
        TestServer {
            addr: handle.socket_addr().unwrap(),
            handle: Some(handle),
        }
    }

    fn entry(&self) -> ServerEntry {
        ServerEntry::new(format!("tcp@{}", self.addr), "")
    }

    async fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown(Duration::from_millis(50)).await;
        }
    }

    /// Listens again on the same address (retrying while the port is still held).
    async fn restart(&mut self) {
        self.handle = Some(serve(self.addr).await);
    }
}

async fn serve(addr: SocketAddr) -> ServerHandle {
    let server =
        Server::builder()
            .handler(
                "Arith",
                "Mul",
                |_ctx: Context, (a, b): (i64, i64)| async move {
                    Ok::<_, ServiceError>(a.wrapping_mul(b))
                },
            )
            .build();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match server.serve_tcp(addr).await {
            Ok(h) => return h,
            Err(e) if Instant::now() < end => {
                eprintln!("rebinding {addr}: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("bind {addr}: {e}"),
        }
    }
}

/// A TCP relay in front of a server that can be frozen like a stopped process: while frozen
/// it accepts nothing (the kernel's backlog still completes handshakes) and moves no byte in
/// either direction; what it holds is delivered after it thaws.
struct Freezer {
    addr: SocketAddr,
    frozen: watch::Sender<bool>,
}

impl Freezer {
    async fn start(target: SocketAddr) -> Freezer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen, rx) = watch::channel(false);
        tokio::spawn(async move {
            let mut gate = rx.clone();
            loop {
                let _ = gate.wait_for(|f| !*f).await;
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                let Ok(outbound) = TcpStream::connect(target).await else {
                    continue;
                };
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                tokio::spawn(pump(ri, wo, rx.clone()));
                tokio::spawn(pump(ro, wi, rx.clone()));
            }
        });
        Freezer { addr, frozen }
    }

    fn entry(&self) -> ServerEntry {
        ServerEntry::new(format!("tcp@{}", self.addr), "")
    }

    fn set_frozen(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if gate.wait_for(|f| !*f).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if gate.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `CALLERS` tasks calling in a loop, counting successes and failures.
struct Load {
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(xc: &XClient) -> Load {
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..CALLERS as i64)
            .map(|id| {
                let (xc, ok, failed, errors, stop) = (
                    xc.clone(),
                    ok.clone(),
                    failed.clone(),
                    errors.clone(),
                    stop.clone(),
                );
                tokio::spawn(async move {
                    let mut n = 0i64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let opts = CallOptions::default().timeout(CALL_TIMEOUT);
                        match xc.call_with::<_, i64>("Mul", &(id, n), opts).await {
                            Ok(r) => {
                                assert_eq!(r.value, id * n);
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                record(&errors, &e);
                                // Failing calls return at once; do not spin a loaded CPU.
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            ok,
            failed,
            errors,
            stop,
            tasks,
        }
    }

    fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Waits until `more` further calls succeed; fails the test after `limit`.
    async fn progress(&self, more: u64, limit: Duration, what: &str) -> Duration {
        let start = Instant::now();
        let target = self.ok() + more;
        while self.ok() < target {
            assert!(start.elapsed() < limit, "no progress: {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }

    async fn finish(mut self) -> (u64, u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in std::mem::take(&mut self.tasks) {
            t.await.expect("caller panicked");
        }
        let errors = self.errors.lock().unwrap().clone();
        (self.ok(), self.failed(), errors)
    }
}

fn record(errors: &Mutex<Vec<String>>, e: &XClientError) {
    let mut errors = errors.lock().unwrap();
    if errors.len() < 20 {
        errors.push(e.to_string());
    }
}

fn xclient(mode: FailMode, servers: Vec<ServerEntry>) -> XClient {
    XClient::new(
        "Arith",
        mode,
        SelectMode::RoundRobin,
        Arc::new(MultipleServersDiscovery::new(servers)),
        XClientOptions::default(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_costs_at_most_a_handful_of_calls() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let c = TestServer::start().await;
    let hung = Freezer::start(c.addr).await;
    let xc = xclient(FailMode::Failover, vec![a.entry(), b.entry(), hung.entry()]);
    let load = Load::start(&xc);
    load.progress(3000, Duration::from_secs(30), "warm-up")
        .await;

    hung.set_frozen(true);
    let frozen_at = Instant::now();
    let ok_before = load.ok();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ok_during = load.ok() - ok_before;
    let breaker = xc.breaker_state(&format!("tcp@{}", hung.addr));
    hung.set_frozen(false);
    let frozen_for = frozen_at.elapsed();
    load.progress(1000, Duration::from_secs(30), "after the thaw")
        .await;

    let (ok, failed, errors) = load.finish().await;
    eprintln!(
        "hung server: {ok_during} calls succeeded during {frozen_for:?} frozen; \
         {failed} failed of {ok}; breaker {breaker:?}; errors {errors:?}"
    );
    assert!(ok_during > 0, "the callers were held by the hung server");
    assert_ne!(
        breaker,
        Some(BreakerState::Closed),
        "the breaker never opened"
    );
    assert!(failed <= 5, "{failed} calls failed: {errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_full_outage_calls_succeed_soon_after_a_server_listens() {
    let mut servers = vec![
        TestServer::start().await,
        TestServer::start().await,
        TestServer::start().await,
    ];
    let xc = xclient(
        FailMode::Failover,
        servers.iter().map(TestServer::entry).collect(),
    );
    let load = Load::start(&xc);
    load.progress(3000, Duration::from_secs(30), "warm-up")
        .await;

    for s in &mut servers {
        s.stop().await;
    }
    // 3.3 s down: the reconnect backoff (100 ms doubling) has grown to 1.6 s and beyond.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let failed_during = load.failed();
    assert!(failed_during > 0, "calls succeeded with every server down");
    for s in &mut servers {
        s.restart().await;
    }
    let back = load
        .progress(1, Duration::from_secs(30), "after the restart")
        .await;
    let (_, _, errors) = load.finish().await;
    eprintln!(
        "full outage: first success {back:?} after listening again ({failed_during} calls \
         failed while down; e.g. {:?})",
        errors.first()
    );
    // Target 0.5 s (a trial dial every 100 ms); the bound is loose for a loaded machine, and
    // still far below the 3.2 s the backoff alone would wait.
    assert!(back < Duration::from_millis(1500), "{back:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failtry_rides_out_quick_restarts_without_a_failed_call() {
    let mut servers = vec![
        TestServer::start().await,
        TestServer::start().await,
        TestServer::start().await,
    ];
    let xc = xclient(
        FailMode::Failtry,
        servers.iter().map(TestServer::entry).collect(),
    );
    let load = Load::start(&xc);
    load.progress(3000, Duration::from_secs(30), "warm-up")
        .await;

    // A rolling restart: each server down for 20 ms.
    for s in &mut servers {
        s.stop().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.restart().await;
        load.progress(500, Duration::from_secs(30), "after a restart")
            .await;
    }
    let (ok, failed, errors) = load.finish().await;
    eprintln!("failtry rolling restart: {failed} failed of {ok}; errors {errors:?}");
    assert_eq!(failed, 0, "{errors:?}");
}
