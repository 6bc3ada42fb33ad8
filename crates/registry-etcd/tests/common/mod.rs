//! Helpers shared by the integration tests: real fastrpc servers, an XClient, a call loop,
//! waiting for a discovery, and a server run in a child process to be killed hard.
#![allow(dead_code, unreachable_pub)]

use fastrpc_discovery::{Discovery, Registrar, ServerList};
use fastrpc_server::{Context, RegistrarPlugin, Server, ServerHandle, ServiceError};
use fastrpc_xclient::{FailMode, SelectMode, XClient, XClientOptions};
use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The service every test server offers: `Who.Am` answers the server's name.
pub const SERVICE: &str = "Who";

/// A listener on a free loopback port and the key clients dial.
pub async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", l.local_addr().unwrap());
    (l, key)
}

/// A server named `name` publishing `Who` through `registrar`.
pub async fn start_server(registrar: impl Registrar, name: &'static str) -> (ServerHandle, String) {
    let (l, key) = listener().await;
    (
        serve(l, RegistrarPlugin::new(registrar, key.clone()), name),
        key,
    )
}

/// A server without a registry plugin (for hand-written entries).
pub async fn start_plain_server(name: &'static str) -> (ServerHandle, String) {
    let (l, key) = listener().await;
    let h = Server::builder()
        .handler(SERVICE, "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .build()
        .serve_listener(l)
        .unwrap();
    (h, key)
}

fn serve(l: tokio::net::TcpListener, plugin: RegistrarPlugin, name: &'static str) -> ServerHandle {
    Server::builder()
        .plugin(plugin)
        .handler(SERVICE, "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .service_metadata(SERVICE, "weight=1&group=test")
        .build()
        .serve_listener(l)
        .unwrap()
}

/// An XClient of `Who` fed by `discovery`.
pub fn xclient(discovery: Arc<dyn Discovery>) -> XClient {
    XClient::new(
        SERVICE,
        FailMode::Failover,
        SelectMode::RoundRobin,
        discovery,
        XClientOptions::default(),
    )
    .unwrap()
}

/// Waits (up to `timeout`) until the discovery's list satisfies `ok`; panics otherwise.
pub async fn wait_list(
    d: &dyn Discovery,
    timeout: Duration,
    what: &str,
    ok: impl Fn(&ServerList) -> bool,
) -> ServerList {
    let mut rx = d.watch();
    let found = tokio::time::timeout(timeout, async {
        loop {
            let list = rx.borrow_and_update().clone();
            if ok(&list) {
                return list;
            }
            if rx.changed().await.is_err() {
                panic!("discovery stopped while waiting for: {what}");
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for {what}; list: {:?}", d.servers()))
}

/// Keys of a list, sorted.
pub fn keys(list: &ServerList) -> Vec<String> {
    let mut k: Vec<String> = list.iter().map(|e| e.key().to_owned()).collect();
    k.sort();
    k
}

/// Calls `Who.Am` every few milliseconds in the background, counting successes and
/// failures, until stopped.
pub struct CallLoop {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl CallLoop {
    pub fn start(xc: Arc<XClient>) -> CallLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let (s, o) = (stop.clone(), ok.clone());
        let task = tokio::spawn(async move {
            let mut errors = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match tokio::time::timeout(
                    Duration::from_secs(10),
                    xc.call::<_, String>("Am", &0u32),
                )
                .await
                {
                    Ok(Ok(_)) => {
                        o.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => errors.push(e.to_string()),
                    Err(_) => errors.push("call timed out".into()),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            errors
        });
        CallLoop { stop, ok, task }
    }

    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Waits until `n` more calls have succeeded.
    pub async fn wait_more(&self, n: u64) {
        let target = self.ok() + n;
        tokio::time::timeout(Duration::from_secs(30), async {
            while self.ok() < target {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("calls keep succeeding");
    }

    /// Stops the loop; returns (successes, failures).
    pub async fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let errors = self.task.await.unwrap();
        (self.ok.load(Ordering::Relaxed), errors)
    }
}

/// The environment variable that tells the `hard_kill_child` test which registry URL to
/// register in.
pub const CHILD_URL_ENV: &str = "FASTRPC_TEST_CHILD_REGISTRY_URL";

/// A server registered through `registrar_from_url(url)` in a child process (this test
/// binary running its `hard_kill_child` test), and the key it registered. Kill it with
/// `child.kill()`: SIGKILL, nothing is unregistered.
pub fn spawn_child_server(url: &str) -> (std::process::Child, String) {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "hard_kill_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL_ENV, url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let key = loop {
        let line = lines
            .next()
            .expect("the child server printed READY")
            .unwrap();
        // libtest prints `test name ... ` before the test's own output, on the same line.
        if let Some((_, key)) = line.split_once("READY ") {
            break key.trim().to_owned();
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, key)
}

/// The body of the child: serve `Who` registered at the URL, print `READY key`, then wait
/// to be killed.
pub async fn run_child_server<R: Registrar>(registrar: R) {
    let (_handle, key) = start_server(registrar, "child").await;
    // Registration runs on the plugin's task; give it time before announcing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("READY {key}");
    tokio::time::sleep(Duration::from_secs(300)).await;
}
