//! Orchestrates the scale axes: one server process and one `scale` client process per point,
//! as the throughput axis does, and the `scale` role itself.

use crate::report::MachineInfo;
use crate::run::{run_client_process, runtime, spawn_server};
use crate::scale::{self, Target};
use crate::scale_report::{self, ConnectionsResult, IdleResult, ScaleResults, SpikeResult};
use crate::system::{System, Workload};
use anyhow::anyhow;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

/// What a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Axis {
    /// Calls/s, latency and CPU per call against the number of callers (the original axis).
    Throughput,
    /// 1 to 10,000 connections with one caller each: calls/s, p99 and server memory.
    Connections,
    /// Server memory per silent connection, and after one call on each.
    Idle,
    /// Memory a server keeps after many connections each sent one large call.
    Spike,
}

impl Axis {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Axis::Throughput => "throughput",
            Axis::Connections => "connections",
            Axis::Idle => "idle",
            Axis::Spike => "spike",
        }
    }
}

impl FromStr for Axis {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Axis> {
        [Axis::Throughput, Axis::Connections, Axis::Idle, Axis::Spike]
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                anyhow!("unknown axis {s:?} (known: throughput, connections, idle, spike)")
            })
    }
}

/// The systems the scale axes compare (bare has no server worth sizing; tonic-multi is
/// tonic with more channels, which the connections axis already varies).
pub const SCALE_SYSTEMS: [System; 3] = [System::Fastrpc, System::Tarpc, System::Tonic];

/// Settings of the scale axes.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// The scale axes to run (throughput is ignored here).
    pub axes: Vec<Axis>,
    /// Systems (only those in [`SCALE_SYSTEMS`] are run).
    pub systems: Vec<System>,
    /// Connection counts of the connections axis.
    pub conn_counts: Vec<usize>,
    /// Connections of the idle measurement.
    pub idle_connections: usize,
    /// Connections of the spike.
    pub spike_connections: usize,
    /// Bytes of each spike call.
    pub spike_bytes: usize,
    /// Warm-up per connections point.
    pub warmup: Duration,
    /// Measured window per connections point.
    pub duration: Duration,
    /// Pause before each memory reading.
    pub settle: Duration,
    /// Tokio worker threads in each process.
    pub threads: usize,
    /// Where the reports go.
    pub out: PathBuf,
    /// The command line, for the report.
    pub command: String,
}

/// One point of a scale axis.
#[derive(Debug, Clone, Copy)]
struct Point {
    axis: Axis,
    system: System,
    count: usize,
}

/// Runs every scale point, writing the report after each one.
pub fn run(opts: &ScaleOptions) -> anyhow::Result<ScaleResults> {
    let systems: Vec<System> = SCALE_SYSTEMS
        .into_iter()
        .filter(|s| opts.systems.contains(s))
        .collect();
    let mut points = Vec::new();
    for &axis in &opts.axes {
        let counts = match axis {
            Axis::Throughput => continue,
            Axis::Connections => opts.conn_counts.clone(),
            Axis::Idle => vec![opts.idle_connections],
            Axis::Spike => vec![opts.spike_connections],
        };
        for count in counts {
            for &system in &systems {
                points.push(Point {
                    axis,
                    system,
                    count,
                });
            }
        }
    }
    let machine = MachineInfo::detect();
    let mut results = ScaleResults::default();
    for (i, p) in points.iter().enumerate() {
        let tag = format!(
            "[{:>2}/{}] {:<11} {:<11} {:>6} conns",
            i + 1,
            points.len(),
            p.axis.name(),
            p.system.name(),
            p.count
        );
        match run_point(opts, p, &tag) {
            Ok(json) => {
                let line = record(&mut results, p.axis, &json)?;
                eprintln!("\r{tag} {line}");
                scale_report::write_all(&opts.out, &results, &machine, &opts.command)?;
            }
            Err(e) => eprintln!("\r{tag} FAILED: {e:#}"),
        }
    }
    Ok(results)
}

fn record(results: &mut ScaleResults, axis: Axis, json: &str) -> anyhow::Result<String> {
    Ok(match axis {
        Axis::Connections => {
            let r: ConnectionsResult = serde_json::from_str(json)?;
            let line = format!(
                "{:>9.0} calls/s  p99 {:>8.0} µs  server peak {:>7.1} MiB  {:>6.1} KiB/conn  errors {}",
                r.calls_per_sec,
                r.p99_us,
                r.server_peak_kib as f64 / 1024.0,
                r.rss_per_conn_kib,
                r.errors
            );
            results.connections.push(r);
            line
        }
        Axis::Idle => {
            let r: IdleResult = serde_json::from_str(json)?;
            let line = format!(
                "{:>6.1} KiB/silent conn  {:>6.1} KiB/conn after one call",
                r.silent_per_conn_kib, r.called_per_conn_kib
            );
            results.idle.push(r);
            line
        }
        Axis::Spike | Axis::Throughput => {
            let r: SpikeResult = serde_json::from_str(json)?;
            let line = format!(
                "{:.2} s  peak {:.1} MiB  idle {:.1} MiB  closed {:.1} MiB  errors {}",
                r.spike_secs,
                r.server_peak_kib as f64 / 1024.0,
                r.server_idle_kib as f64 / 1024.0,
                r.server_closed_kib as f64 / 1024.0,
                r.errors
            );
            results.spike.push(r);
            line
        }
    })
}

fn run_point(opts: &ScaleOptions, p: &Point, tag: &str) -> anyhow::Result<String> {
    let (mut server, addr) = spawn_server(p.system, Workload::Opaque, opts.threads)?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args([
        "scale",
        "--axis",
        p.axis.name(),
        "--system",
        p.system.name(),
    ])
    .args(["--addr", &addr, "--server-pid", &server.0.id().to_string()])
    .args(["--count", &p.count.to_string()])
    .args(["--bytes", &opts.spike_bytes.to_string()])
    .args(["--warmup", &opts.warmup.as_secs_f64().to_string()])
    .args(["--duration", &opts.duration.as_secs_f64().to_string()])
    .args(["--settle", &opts.settle.as_secs_f64().to_string()])
    .args(["--threads", &opts.threads.to_string()]);
    let expected = match p.axis {
        Axis::Connections => opts.warmup + opts.duration,
        _ => opts.settle * 3,
    };
    let json = run_client_process(&mut cmd, tag, expected + Duration::from_secs(2));
    drop(server.0.stdin.take());
    json
}

/// Settings of the `scale` role.
#[derive(Debug, Clone, Copy)]
pub struct ScaleClientOptions {
    /// What to measure.
    pub axis: Axis,
    /// Against which server.
    pub target: Target,
    /// Connections.
    pub count: usize,
    /// Bytes per spike call.
    pub bytes: usize,
    /// Warm-up of a connections point.
    pub warmup: Duration,
    /// Window of a connections point.
    pub duration: Duration,
    /// Pause before memory readings.
    pub settle: Duration,
    /// Tokio worker threads.
    pub threads: usize,
}

/// The `scale` role: measure one point and print `RESULT <json>`.
pub fn client(o: &ScaleClientOptions) -> anyhow::Result<()> {
    let rt = runtime(o.threads)?;
    let json = rt.block_on(async {
        anyhow::Ok(match o.axis {
            Axis::Connections => serde_json::to_string(
                &scale::connections_point(o.target, o.count, o.warmup, o.duration).await?,
            )?,
            Axis::Idle => {
                serde_json::to_string(&scale::idle_memory(o.target, o.count, o.settle).await?)?
            }
            Axis::Spike => {
                serde_json::to_string(&scale::spike(o.target, o.count, o.bytes, o.settle).await?)?
            }
            Axis::Throughput => return Err(anyhow!("the throughput axis has no scale role")),
        })
    })?;
    println!("RESULT {json}");
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}
