//! A server in a child process, for what a test cannot see from inside its own process: a
//! server under an address-space limit (`RLIMIT_AS`) facing 1,000 connections that announce
//! 15 MiB frames, and the resident memory each connection costs.
//!
//! The child is this test binary again, running the ignored `child_server_main` test with
//! `FASTRPC_CHILD_SERVER` set; it prints its address and serves until its stdin closes.

mod budget_support;

use budget_support::*;
use bytes::{BufMut, Bytes, BytesMut};
use fastrpc::{Client, Context, Raw, Server, ServerOptions, ServiceError};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHILD_ENV: &str = "FASTRPC_CHILD_SERVER";

/// The child: serves `Echo.Echo` on an ephemeral port with the frame time limit (ms) given
/// in `FASTRPC_CHILD_SERVER`, until stdin closes.
#[test]
#[ignore = "the child process of the tests below, not a test of its own"]
fn child_server_main() {
    let Ok(frame_ms) = std::env::var(CHILD_ENV) else {
        return;
    };
    let frame_ms: u64 = frame_ms.parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let server = Server::builder()
            .options(ServerOptions::default().frame_timeout(Duration::from_millis(frame_ms)))
            .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
                Ok::<_, ServiceError>(p)
            })
            .build();
        let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", srv.local_addr());
        // Serve until the parent closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
        })
        .await
        .unwrap();
        srv.shutdown(Duration::from_secs(1)).await;
    });
}

struct ChildServer {
    child: Child,
    addr: std::net::SocketAddr,
}

impl ChildServer {
    /// Starts the child with a frame time limit and, when given, an address-space limit.
    fn start(frame_timeout: Duration, address_space: Option<u64>) -> ChildServer {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "child_server_main", "--ignored", "--nocapture"])
            .env(CHILD_ENV, frame_timeout.as_millis().to_string())
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(limit) = address_space {
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: limit as libc::rlim_t,
                        rlim_max: limit as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
            if let Some(a) = line.trim().strip_prefix("LISTENING ") {
                break a.parse().unwrap();
            }
        };
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        ChildServer { child, addr }
    }

    fn is_alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Closes the child's stdin and waits for it; true when it exited cleanly.
    fn stop(mut self) -> bool {
        drop(self.child.stdin.take());
        self.child.wait().unwrap().success()
    }
}

async fn echo_once(addr: std::net::SocketAddr, what: &'static [u8]) {
    let client = Client::connect(&addr.to_string()).await.unwrap();
    let r: Raw = tokio::time::timeout(
        Duration::from_secs(30),
        client.call("Echo", "Echo", &Raw::from(what)),
    )
    .await
    .expect("served in time")
    .unwrap();
    assert_eq!(&r[..], what);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_limited_to_2_gib_survives_1000_announced_15_mib_frames() {
    fastrpc::transport::tcp::raise_fd_limit();
    let mut child = ChildServer::start(Duration::from_secs(3), Some(2 << 30));
    let addr = child.addr;
    echo_once(addr, b"before").await;

    // 1,000 connections, each a header announcing 15 MiB and the first 4 KiB of it.
    let mut head = BytesMut::new();
    head.put_slice(&[0x08, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 1]);
    head.put_u32(15 << 20);
    head.put_slice(&[0u8; 4096]);
    let mut attackers = Vec::new();
    for _ in 0..1000 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&head).await.unwrap();
        attackers.push(s);
    }
    // The server keeps serving others, and stays alive.
    echo_once(addr, b"during").await;
    assert!(child.is_alive(), "the server died");

    // Each attacker is closed at the frame time limit.
    for (i, s) in attackers.iter_mut().enumerate() {
        let mut b = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(60), s.read(&mut b))
            .await
            .unwrap_or_else(|_| panic!("attacker {i} still open"));
        assert!(matches!(n, Ok(0) | Err(_)), "attacker {i}: {n:?}");
    }
    echo_once(addr, b"after").await;
    assert!(child.is_alive(), "the server died");
    assert!(child.stop(), "the server exited uncleanly");
}

/// Resident memory per connection of a server in a child process: 5,000 silent connections,
/// then one call on each. Prints the figures; run with
/// `cargo test --release -p fastrpc --test child_server -- --ignored --nocapture memory`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn memory_per_connection() {
    const N: usize = 5000;
    fastrpc::transport::tcp::raise_fd_limit();
    let child = ChildServer::start(Duration::from_secs(30), None);
    let addr = child.addr;
    echo_once(addr, b"warm").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = child.rss_kib();
    let mut conns = Vec::with_capacity(N);
    for _ in 0..N {
        conns.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let silent = child.rss_kib();
    let req = request("Echo", "Echo", 1, Bytes::from_static(b"0123456789abcdef"));
    for c in conns.iter_mut() {
        c.write_all(&req).await.unwrap();
    }
    for c in conns.iter_mut() {
        let mut got = 0;
        let mut b = [0u8; 256];
        while got < req.len() {
            let n = c.read(&mut b).await.unwrap();
            assert!(n > 0);
            got += n;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let called = child.rss_kib();
    let per = |kib: u64| (kib - base) as f64 / N as f64;
    println!(
        "RSS base {base} KiB; {N} silent connections: +{} KiB ({:.2} KiB each); after one call each: +{} KiB ({:.2} KiB each)",
        silent - base,
        per(silent),
        called - base,
        per(called)
    );
    drop(conns);
    assert!(child.stop());
}
