//! The transport axis of the benchmark: the opaque workload (a 581-byte `Echo.Echo`) over every
//! network compiled in (tcp, unix, tls, quic, kcp, ws), side by side in one run, with the ratio
//! of each to tcp.
//!
//! One process: one server serving every network, one client connection per network,
//! `--callers` closed-loop callers on it for `--secs` seconds after a second of warm-up;
//! `--rounds` rounds in alternating order, the best round of each network reported. TLS, QUIC
//! and wss use the development certificate; KCP uses rpcx's example key.
//!
//! ```text
//! cargo xtask bench --axis transport            # = the command below
//! cargo run --release -p fastrpc --example transport_bench --features tls,quic,kcp,ws -- \
//!     [--secs 3] [--rounds 2] [--callers 64] [--networks tcp,unix,tls,quic,kcp,ws]
//! ```

use fastrpc::{Client, Context, Raw, Server, ServiceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The opaque workload's payload size (the throughput axis's).
const PAYLOAD: usize = 581;

struct Config {
    secs: f64,
    rounds: usize,
    callers: usize,
    networks: Vec<String>,
}

impl Config {
    fn parse() -> Result<Config, String> {
        let mut cfg = Config {
            secs: 3.0,
            rounds: 2,
            callers: 64,
            networks: ["tcp", "unix", "tls", "quic", "kcp", "ws"]
                .map(str::to_owned)
                .to_vec(),
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or(format!("{flag} needs a value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{flag}: {e}");
            match flag.as_str() {
                "--secs" => cfg.secs = value.parse().map_err(|e| bad(&e))?,
                "--rounds" => cfg.rounds = value.parse().map_err(|e| bad(&e))?,
                "--callers" => cfg.callers = value.parse().map_err(|e| bad(&e))?,
                "--networks" => cfg.networks = value.split(',').map(str::to_owned).collect(),
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        Ok(cfg)
    }
}

/// What one round of one network measured.
#[derive(Clone, Copy, Default)]
struct Figures {
    calls_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

/// The address each network listens on (port 0: any free port; unix: a fresh path).
fn listen_addr(network: &str, dir: &std::path::Path) -> String {
    match network {
        "unix" => format!("unix@{}", dir.join("bench.sock").display()),
        n => format!("{n}@127.0.0.1:0"),
    }
}

/// `callers` loops calling `Echo.Echo` on one connection for `secs`.
async fn measure(client: &Client, callers: usize, secs: f64) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let payload = Raw::from(vec![0x5a; PAYLOAD]);
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (client, stop, payload) = (client.clone(), stop.clone(), payload.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let began = Instant::now();
                    let reply: Raw = client.call("Echo", "Echo", &payload).await.unwrap();
                    assert_eq!(reply.len(), PAYLOAD);
                    latencies.push(began.elapsed().as_nanos() as u64);
                }
                latencies
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |ns| *ns as f64 / 1e3)
    };
    Figures {
        calls_per_sec: all.len() as f64 / elapsed,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = Config::parse().map_err(|e| format!("transport_bench: {e}"))?;
    fastrpc::transport::network::quic::use_development_tls()?;
    fastrpc::transport::network::ws::use_development_tls()?;
    fastrpc::tls::use_development_tls()?;
    let dir = std::env::temp_dir().join(format!("fastrpc-transport-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .build();
    let mut clients = Vec::new();
    let mut handles = Vec::new();
    for network in &cfg.networks {
        let handle = server.serve(&listen_addr(network, &dir)).await?;
        let client = Client::connect(handle.addr()).await?;
        // Warm-up: connections made, buffers grown, KCP windows open.
        measure(&client, cfg.callers, 1.0).await;
        clients.push((network.clone(), client));
        handles.push(handle);
    }
    println!(
        "transport_bench: {} callers on one connection per network, {PAYLOAD}-byte echo, \
         {} s per round, best of {} rounds\n",
        cfg.callers, cfg.secs, cfg.rounds
    );
    let mut best = vec![Figures::default(); clients.len()];
    for round in 0..cfg.rounds {
        let mut order: Vec<usize> = (0..clients.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let f = measure(&clients[i].1, cfg.callers, cfg.secs).await;
            if f.calls_per_sec > best[i].calls_per_sec {
                best[i] = f;
            }
        }
    }
    let tcp = clients
        .iter()
        .position(|(n, _)| n == "tcp")
        .map(|i| best[i].calls_per_sec);
    println!("| network | calls/s | ratio to tcp | p50 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    for ((network, _), f) in clients.iter().zip(&best) {
        let ratio = tcp.map_or("-".to_owned(), |t| format!("{:.2}", f.calls_per_sec / t));
        println!(
            "| {network} | {:.0} | {ratio} | {:.0} µs | {:.0} µs |",
            f.calls_per_sec, f.p50_us, f.p99_us
        );
    }
    for (_, c) in &clients {
        c.close();
    }
    let _ = server.shutdown(Duration::from_secs(2)).await;
    drop(handles);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
