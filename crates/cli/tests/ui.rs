//! `fastrpc ui` end to end, in a real headless Chromium driven through chromedriver
//! (WebDriver, with fantoccini): two real fastrpc servers registered in a real Redis, the
//! dashboard run as a process, a running XClient.
//!
//! The page lists both servers; clicking "Mark inactive" for one moves every call of the
//! XClient to the other (counted on the servers) and stays so across the servers' registry
//! refreshes; the weight form rewrites `weight`; the call form shows a reply. A screenshot
//! is written to `docs/ui.png`. One server advertises its metrics endpoint: its row shows
//! call rate and latency read from it.
//!
//! Needs `redis-server`, `chromium` and `chromedriver` (Debian packages, installed by
//! `cargo xtask infra install`); skipped with a message when one is missing, failed instead
//! when `FASTRPC_REQUIRE_INFRA=1`.

mod support;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use fastrpc::XClientOptions;
use fastrpc::discovery::Discovery;
use fastrpc::plugins::metrics::{PrometheusExporter, ServerMetrics};
use fastrpc::registry::RegistrarPlugin;
use fastrpc::{Context, FailMode, SelectMode, Server, ServerHandle, ServiceError, XClient};
use fastrpc_test_infra::{Process, RedisServer, TempDir, free_port, require_binary, wait_for_port};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{Args, Reply};

/// Generous: a loaded 2-core machine runs Chromium, Redis and cargo at once.
const WAIT: Duration = Duration::from_secs(60);

/// A fastrpc server registered in the registry, counting the calls it serves.
struct Registered {
    key: String,
    calls: Arc<AtomicU64>,
    handle: Option<ServerHandle>,
}

/// With `metrics`, the server records `ServerMetrics` (into the process's exporter, served at
/// that address) and advertises the endpoint; its calls then take 1 ms.
async fn registered_server(registry_url: &str, metrics: Option<SocketAddr>) -> Registered {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    let registrar = fastrpc::registry::from_url(registry_url).await.unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let mut registrar = RegistrarPlugin::from_arc(registrar, key.clone());
    if let Some(addr) = metrics {
        registrar = registrar.advertise_metrics(format!("http://{addr}/metrics"));
    }
    let mut builder = Server::builder().plugin(registrar);
    if metrics.is_some() {
        builder = builder.plugin(ServerMetrics::new());
    }
    let delay = metrics.map(|_| Duration::from_millis(1));
    let server = builder
        .handler("Arith", "Mul", move |_c: Context, a: Args| {
            counter.fetch_add(1, Ordering::Relaxed);
            async move {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                Ok::<_, ServiceError>(Reply { c: a.a * a.b })
            }
        })
        .service_metadata("Arith", "weight=1&group=test&tps=0")
        .build();
    let handle = server.serve_listener(listener).unwrap();
    Registered {
        key,
        calls,
        handle: Some(handle),
    }
}

impl Registered {
    fn count(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn shutdown(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown(Duration::from_secs(2)).await;
        }
    }
}

/// chromedriver on a free port, for headless Chromium with a fresh profile.
struct Driver {
    _process: Process,
    port: u16,
    chromium: PathBuf,
    profile: TempDir,
}

impl Driver {
    fn start() -> Option<Driver> {
        let chromium = require_binary("chromium", &[])?;
        let driver = require_binary("chromedriver", &[])?;
        let profile = TempDir::new("chromium");
        let port = free_port();
        let log = profile.path().join("chromedriver.log");
        let process = Process::spawn("chromedriver", &driver, &[format!("--port={port}")], &log);
        wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)), WAIT)
            .unwrap_or_else(|e| panic!("chromedriver: {e}"));
        Some(Driver {
            _process: process,
            port,
            chromium,
            profile,
        })
    }

    async fn browser(&self) -> Browser {
        let user_data = self.profile.path().join("profile");
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", user_data.display()),
                ]
            }
        });
        let caps = caps.as_object().cloned().unwrap();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromedriver session")
    }
}

/// Calls `Arith.Mul` through an XClient on the registry until stopped.
fn run_xclient(xc: XClient, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let r: Result<Reply, _> = xc.call("Mul", &Args { a: 2, b: 3 }).await;
            if r.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        xc.close();
    })
}

/// Waits until `cond` holds, polling.
async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `busy` serves `n` more calls while `idle` serves none; returns `idle`'s count.
async fn wait_all_calls_go_to(busy: &Registered, idle: &Registered, n: u64) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let (idle0, busy0) = (idle.count(), busy.count());
        while busy.count() < busy0 + n {
            assert!(Instant::now() < deadline, "{} serves no calls", busy.key);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if idle.count() == idle0 {
            return idle0;
        }
        assert!(
            Instant::now() < deadline,
            "{} still gets calls after it was marked inactive",
            idle.key
        );
    }
}

async fn click(b: &Browser, css: &str) {
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn wait_for(b: &Browser, css: &str) -> fantoccini::elements::Element {
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

async fn metadata_of(d: &Arc<dyn Discovery>, key: &str) -> String {
    d.servers()
        .iter()
        .find(|e| e.key() == key)
        .map(|e| e.raw_metadata().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_steers_a_running_xclient_in_headless_chromium() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let Some(driver) = Driver::start() else {
        return;
    };
    // A short refresh, so the servers' registrars refresh several times during the test:
    // what the page writes must survive them (as with Go's plugins).
    let url = redis.url("/rpcx_ui?interval=500ms&ttl=5s");
    // B records metrics and advertises its endpoint: the latency column.
    let metrics_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    PrometheusExporter::new().serve_http(metrics_addr).unwrap();
    let mut a = registered_server(&url, None).await;
    let mut b = registered_server(&url, Some(metrics_addr)).await;
    let discovery = fastrpc::discovery::from_url(&url, "Arith").await.unwrap();
    let mut watch = discovery.watch();
    tokio::time::timeout(WAIT, watch.wait_for(|l| l.len() == 2))
        .await
        .expect("both servers registered")
        .unwrap();

    // The dashboard, as a process.
    let ui_port = free_port();
    let ui_dir = TempDir::new("fastrpc-ui");
    let _ui = Process::spawn(
        "fastrpc ui",
        &assert_cmd::cargo::cargo_bin("fastrpc"),
        &[
            "ui".into(),
            "--registry".into(),
            url.clone(),
            "--listen".into(),
            format!("127.0.0.1:{ui_port}"),
        ],
        &ui_dir.path().join("ui.log"),
    );
    wait_for_port(SocketAddr::from(([127, 0, 0, 1], ui_port)), WAIT)
        .unwrap_or_else(|e| panic!("fastrpc ui: {e}"));
    let page = format!("http://127.0.0.1:{ui_port}/");

    // A running XClient, round robin over both servers.
    let xc = XClient::new(
        "Arith",
        FailMode::Failover,
        SelectMode::RoundRobin,
        discovery.clone(),
        XClientOptions::default(),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let caller = run_xclient(xc, stop.clone());
    wait_until("calls on both servers", async || {
        a.count() > 0 && b.count() > 0
    })
    .await;

    let browser = driver.browser().await;
    browser.goto(&page).await.unwrap();
    let row_a = format!(r#"tr[data-server="{}"]"#, a.key);
    let row_b = format!(r#"tr[data-server="{}"]"#, b.key);
    wait_for(&browser, &format!("{row_a}.active")).await;
    wait_for(&browser, &format!("{row_b}.active")).await;
    let text = browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in ["Arith", a.key.as_str(), b.key.as_str(), "tps=0", "test"] {
        assert!(text.contains(needle), "{needle} not on the page:\n{text}");
    }
    // The latency column: B's figures from its metrics endpoint, a dash for A (none).
    browser.refresh().await.unwrap();
    let latency = wait_for(&browser, &format!("{row_b} .latency")).await;
    let latency = latency.text().await.unwrap();
    assert!(
        latency.starts_with("p99 ")
            && latency.contains(" ms · mean ")
            && latency.contains("calls/s"),
        "B's latency cell: {latency}"
    );
    let a_cells = browser
        .find(Locator::Css(&row_a))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !a_cells.contains("p99"),
        "A advertises no metrics: {a_cells}"
    );

    // Mark A inactive in the page: every call goes to B, and stays there across refreshes.
    click(&browser, &format!("{row_a} button.state-inactive")).await;
    wait_for(&browser, &format!("{row_a}.inactive")).await;
    wait_for(&browser, "#notice.ok").await;
    let idle = wait_all_calls_go_to(&b, &a, 50).await;
    let since = Instant::now();
    let b0 = b.count();
    wait_until("more calls on B and a few registry refreshes", async || {
        since.elapsed() > Duration::from_secs(3) && b.count() > b0 + 200
    })
    .await;
    assert_eq!(a.count(), idle, "calls reached the inactive server");
    // Exactly what rpcx-ui writes: the query parsed, `state` set, keys sorted.
    assert_eq!(
        metadata_of(&discovery, &a.key).await,
        "group=test&state=inactive&tps=0&weight=1"
    );
    // The entry still expires with its server (the write kept the key's TTL).
    let pttl: i64 = redis
        .cli(&["PTTL", &format!("//rpcx_ui/Arith/{}", a.key)])
        .parse()
        .unwrap();
    assert!(pttl > 0, "PTTL {pttl}");

    // The weight form.
    let weight = wait_for(&browser, &format!(r#"{row_b} input[name="weight"]"#)).await;
    weight.clear().await.unwrap();
    weight.send_keys("5").await.unwrap();
    click(&browser, &format!("{row_b} button.set-weight")).await;
    wait_for(
        &browser,
        &format!(r#"{row_b} input[name="weight"][value="5"]"#),
    )
    .await;
    // (B's metadata also carries its metrics URL, query-encoded, kept by the rewrite.)
    assert_eq!(
        metadata_of(&discovery, &b.key).await,
        format!(
            "group=test&metrics=http%3A%2F%2F127.0.0.1%3A{}%2Fmetrics&tps=0&weight=5",
            metrics_addr.port()
        )
    );

    // The call form.
    let method = wait_for(&browser, "#call-method").await;
    method.send_keys("Arith.Mul").await.unwrap();
    let args = browser.find(Locator::Css("#call-args")).await.unwrap();
    args.send_keys(r#"{"A": 6, "B": 7}"#).await.unwrap();
    click(&browser, "#call-submit").await;
    let reply = wait_for(&browser, "#call-outcome.ok #call-reply").await;
    let reply = reply.text().await.unwrap();
    assert!(reply.contains(r#""C": 42"#), "reply: {reply}");

    // The screenshot for the README: A inactive, B re-weighted, a reply shown.
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui.png");
    std::fs::write(&docs, &png).unwrap();

    // Mark A active again: it gets calls again.
    browser.goto(&page).await.unwrap();
    click(&browser, &format!("{row_a} button.state-active")).await;
    wait_for(&browser, &format!("{row_a}.active")).await;
    let a0 = a.count();
    wait_until("calls on A again", async || a.count() > a0 + 10).await;

    browser.close().await.unwrap();
    stop.store(true, Ordering::Relaxed);
    caller.await.unwrap();
    discovery.close();
    a.shutdown().await;
    b.shutdown().await;
}
