//! The three roles of the binary: `run` (the orchestrator), `server` and `client`.
//!
//! `run` re-executes this binary once as a server process and once as a client process per
//! measured point, so the two never share a runtime, an allocator or a CPU account, and every
//! point starts from fresh connections. The server prints `LISTENING <addr>` and serves until
//! its stdin closes; the client prints `RESULT <json>`.

use crate::load::{self, LoadSpec, Mode};
use crate::report::{self, MachineInfo, PointResult};
use crate::system::{self, Connections, System, Workload};
use anyhow::{Context as _, anyhow, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Most calls in flight in open-loop mode.
const OPEN_LOOP_MAX_OUTSTANDING: usize = 4096;

/// What `run` measures.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Systems, in any order (reported in a fixed order).
    pub systems: Vec<System>,
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// Closed-loop concurrencies.
    pub concurrency: Vec<usize>,
    /// Measured window per point.
    pub duration: Duration,
    /// Warm-up per point.
    pub warmup: Duration,
    /// Open-loop rate in calls per second (0 = no open-loop points).
    pub open_loop_rate: u64,
    /// Connections the callers share (tonic-multi opens at least 4).
    pub connections: usize,
    /// Tokio worker threads in each server and client process.
    pub threads: usize,
    /// Where the reports go.
    pub out: PathBuf,
    /// The command line, for the report.
    pub command: String,
}

/// One point to measure.
#[derive(Debug, Clone, Copy)]
struct Point {
    system: System,
    workload: Workload,
    mode: Mode,
}

/// Runs every point, writing the reports after each one, and returns the results.
pub fn run(opts: &RunOptions) -> anyhow::Result<Vec<PointResult>> {
    let mut systems = opts.systems.clone();
    systems.sort_by_key(|s| System::ALL.iter().position(|x| x == s));
    systems.dedup();
    let mut points = Vec::new();
    for &workload in &opts.workloads {
        for &concurrency in &opts.concurrency {
            for &system in systems.iter().filter(|s| s.supports(workload)) {
                points.push(Point {
                    system,
                    workload,
                    mode: Mode::Closed { concurrency },
                });
            }
        }
    }
    if opts.open_loop_rate > 0 {
        for &workload in &opts.workloads {
            for &system in systems.iter().filter(|s| s.supports(workload)) {
                points.push(Point {
                    system,
                    workload,
                    mode: Mode::Open {
                        rate: opts.open_loop_rate,
                        max_outstanding: OPEN_LOOP_MAX_OUTSTANDING,
                    },
                });
            }
        }
    }
    if points.is_empty() {
        bail!("nothing to run: no system supports the chosen workloads");
    }
    let per_point = opts.duration + opts.warmup;
    eprintln!(
        "fastrpc-bench: {} points, {:.0} s each plus start-up, about {:.1} minutes",
        points.len(),
        per_point.as_secs_f64(),
        points.len() as f64 * (per_point.as_secs_f64() + 0.5) / 60.0
    );
    let machine = MachineInfo::detect();
    let mut results = Vec::new();
    for (i, point) in points.iter().enumerate() {
        let tag = format!(
            "[{:>2}/{}] {:<11} {:<6} {:<12}",
            i + 1,
            points.len(),
            point.system.name(),
            point.workload.name(),
            match point.mode {
                Mode::Closed { concurrency } => format!("C={concurrency}"),
                Mode::Open { rate, .. } => format!("open {rate}/s"),
            }
        );
        match run_point(opts, point, &tag) {
            Ok(r) => {
                eprintln!(
                    "\r{tag} {:>9.0} calls/s  p50 {:>7.0} µs  p99 {:>7.0} µs  CPU {:>5.2} µs/call (server {:.2} + client {:.2}){}",
                    r.calls_per_sec,
                    r.p50_us,
                    r.p99_us,
                    r.total_us_per_call(),
                    r.server_us_per_call(),
                    r.client_us_per_call(),
                    if r.errors > 0 {
                        format!("  {} ERRORS", r.errors)
                    } else {
                        String::new()
                    }
                );
                results.push(r);
                report::write_all(&opts.out, &results, &machine, &opts.command)?;
            }
            Err(e) => eprintln!("\r{tag} FAILED: {e:#}"),
        }
    }
    eprintln!("reports written to {}", opts.out.display());
    Ok(results)
}

/// Kills the child when dropped, unless it has exited.
pub(crate) struct ChildGuard(pub(crate) Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Starts this binary as the server of `system` and returns it with its address.
pub(crate) fn spawn_server(
    system: System,
    workload: Workload,
    threads: usize,
) -> anyhow::Result<(ChildGuard, String)> {
    let exe = std::env::current_exe()?;
    let threads = threads.to_string();
    let mut server = ChildGuard(
        Command::new(&exe)
            .args(["server", "--system", system.name()])
            .args(["--workload", workload.name()])
            .args(["--addr", "127.0.0.1:0", "--threads", &threads])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server process")?,
    );
    let mut server_out = BufReader::new(server.0.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    server_out.read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("LISTENING ")
        .ok_or_else(|| anyhow!("server did not start (said {:?})", line.trim()))?
        .to_owned();
    Ok((server, addr))
}

/// Runs `client_cmd` (this binary in a client role), showing progress against `total`, and
/// returns the JSON after `RESULT ` in its output.
pub(crate) fn run_client_process(
    client_cmd: &mut Command,
    tag: &str,
    total: Duration,
) -> anyhow::Result<String> {
    let mut client = ChildGuard(
        client_cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the client process")?,
    );
    let mut client_out = client.0.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = client_out.read_to_string(&mut s);
        s
    });

    let started = Instant::now();
    let limit = total + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = client.0.try_wait()? {
            break status;
        }
        let elapsed = started.elapsed();
        if elapsed > limit {
            bail!("client did not finish within {:.0} s", limit.as_secs_f64());
        }
        let done = (elapsed.as_secs_f64() / total.as_secs_f64()).min(1.0);
        let bar = "#".repeat((done * 20.0) as usize);
        eprint!(
            "\r{tag} [{bar:<20}] {:>4.1}/{:.0} s ",
            elapsed.as_secs_f64().min(total.as_secs_f64()),
            total.as_secs_f64()
        );
        let _ = std::io::stderr().flush();
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = reader
        .join()
        .map_err(|_| anyhow!("client output reader panicked"))?;
    if !status.success() {
        bail!("client exited with {status}");
    }
    output
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("client printed no result"))
}

fn run_point(opts: &RunOptions, point: &Point, tag: &str) -> anyhow::Result<PointResult> {
    let exe = std::env::current_exe()?;
    let threads = opts.threads.to_string();
    let (mut server, addr) = spawn_server(point.system, point.workload, opts.threads)?;
    let mut client_cmd = Command::new(&exe);
    client_cmd
        .args(["client", "--system", point.system.name()])
        .args(["--workload", point.workload.name()])
        .args(["--addr", &addr, "--threads", &threads])
        .args(["--server-pid", &server.0.id().to_string()])
        .args(["--connections", &opts.connections.to_string()])
        .args(["--duration", &opts.duration.as_secs_f64().to_string()])
        .args(["--warmup", &opts.warmup.as_secs_f64().to_string()]);
    match point.mode {
        Mode::Closed { concurrency } => {
            client_cmd.args(["--concurrency", &concurrency.to_string()]);
        }
        Mode::Open { rate, .. } => {
            client_cmd.args(["--rate", &rate.to_string()]);
        }
    }
    let json = run_client_process(&mut client_cmd, tag, opts.warmup + opts.duration);
    // Closing the server's stdin asks it to exit; the guard kills it if it does not.
    drop(server.0.stdin.take());
    Ok(serde_json::from_str(&json?)?)
}

pub(crate) fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?)
}

/// The `server` role: serve `system` on `addr`, print `LISTENING <addr>`, and serve until
/// stdin closes.
pub fn server(
    system: System,
    workload: Workload,
    addr: &str,
    threads: usize,
) -> anyhow::Result<()> {
    let rt = runtime(threads)?;
    let local = rt.block_on(system::serve(system, workload, addr))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "LISTENING {local}")?;
    stdout.flush()?;
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// Options of the `client` role.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// System to call.
    pub system: System,
    /// Workload.
    pub workload: Workload,
    /// Server address.
    pub addr: std::net::SocketAddr,
    /// Tokio worker threads.
    pub threads: usize,
    /// Connections requested.
    pub connections: usize,
    /// Load spec.
    pub spec: LoadSpec,
}

/// The `client` role: run the load against the server and print `RESULT <json>`.
pub fn client(opts: &ClientOptions) -> anyhow::Result<()> {
    let rt = runtime(opts.threads)?;
    let result = rt.block_on(async {
        let conns = Connections::open(
            opts.system,
            opts.workload,
            opts.addr,
            opts.system.connections(opts.connections),
        )
        .await?;
        let m = load::run(&conns, &opts.spec).await?;
        anyhow::Ok(PointResult::new(
            opts.system.name(),
            opts.workload.name(),
            &opts.spec,
            conns.len(),
            &m,
        ))
    })?;
    println!("RESULT {}", serde_json::to_string(&result)?);
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}
