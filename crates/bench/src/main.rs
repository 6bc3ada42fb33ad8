//! `fastrpc-bench`: runs fastrpc, tarpc, tonic and a bare tokio echo side by side.

use anyhow::bail;
use clap::{Parser, Subcommand};
use fastrpc_bench::load::{LoadSpec, Mode};
use fastrpc_bench::run::{self, ClientOptions, RunOptions};
use fastrpc_bench::scale::Target;
use fastrpc_bench::scale_run::{self, Axis, ScaleClientOptions, ScaleOptions};
use fastrpc_bench::system::{System, Workload};
use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "fastrpc-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure every chosen system, workload and concurrency; write CSV, Markdown and SVG.
    Run {
        /// Quick check: 2 s per point after 0.5 s of warm-up (unless set explicitly), and
        /// smaller scale axes (up to 1,000 connections, 1,000 idle, a 200-connection spike).
        #[arg(long)]
        short: bool,
        /// Axes: throughput (callers on shared connections), connections (one caller per
        /// connection, 1 to 10,000), idle (memory per idle connection), spike (memory kept
        /// after large calls on many connections).
        #[arg(long, value_delimiter = ',', default_value = "throughput")]
        axis: Vec<Axis>,
        /// Connection counts of the connections axis (default 1,100,1000,10000; with --short
        /// 1,100,1000).
        #[arg(long, value_delimiter = ',')]
        conn_counts: Option<Vec<usize>>,
        /// Connections of the idle axis (default 5000, or 1000 with --short).
        #[arg(long)]
        idle_connections: Option<usize>,
        /// Connections of the spike axis, one call each (default 1000, or 200 with --short).
        #[arg(long)]
        spike_connections: Option<usize>,
        /// Bytes of each spike call.
        #[arg(long, default_value_t = 1 << 20)]
        spike_bytes: usize,
        /// Seconds to wait before each memory reading of the idle and spike axes.
        #[arg(long, default_value_t = 2.0)]
        settle: f64,
        /// Directory for results.csv, results.md and the SVG charts.
        #[arg(long, default_value = "docs/benchmarks")]
        out: PathBuf,
        /// Systems: fastrpc, bare, tarpc, tonic, tonic-multi.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "fastrpc,bare,tarpc,tonic,tonic-multi"
        )]
        systems: Vec<System>,
        /// Workloads: opaque, proto.
        #[arg(long, value_delimiter = ',', default_value = "opaque,proto")]
        workloads: Vec<Workload>,
        /// Closed-loop concurrencies (callers).
        #[arg(long, value_delimiter = ',', default_value = "1,16,64,256,1024")]
        concurrency: Vec<usize>,
        /// Measured seconds per point (default 8, or 2 with --short).
        #[arg(long)]
        duration: Option<f64>,
        /// Warm-up seconds per point (default 2, or 0.5 with --short).
        #[arg(long)]
        warmup: Option<f64>,
        /// Open-loop rate in calls per second, one point per system and workload (0 = none).
        #[arg(long, default_value_t = 10_000)]
        open_loop_rate: u64,
        /// Connections the callers share (tonic-multi opens at least 4 channels).
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Tokio worker threads in each server and client process (default: CPU count).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// (internal) Serve one system; prints `LISTENING <addr>`, exits when stdin closes.
    Server {
        #[arg(long)]
        system: System,
        #[arg(long)]
        workload: Workload,
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// (internal) Measure one point of a scale axis; prints `RESULT <json>`.
    Scale {
        #[arg(long)]
        axis: Axis,
        #[arg(long)]
        system: System,
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        server_pid: u32,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1 << 20)]
        bytes: usize,
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        #[arg(long, default_value_t = 8.0)]
        duration: f64,
        #[arg(long, default_value_t = 2.0)]
        settle: f64,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// (internal) Load one server; prints `RESULT <json>`.
    Client {
        #[arg(long)]
        system: System,
        #[arg(long)]
        workload: Workload,
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        server_pid: Option<u32>,
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Closed loop with this many callers.
        #[arg(long, conflicts_with = "rate")]
        concurrency: Option<usize>,
        /// Open loop at this many calls per second.
        #[arg(long)]
        rate: Option<u64>,
        #[arg(long, default_value_t = 8.0)]
        duration: f64,
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn secs(s: f64) -> anyhow::Result<Duration> {
    if !(s.is_finite() && s >= 0.0) {
        bail!("bad number of seconds: {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

fn main() -> anyhow::Result<()> {
    // Thousands of connections need thousands of descriptors; the children inherit this.
    fastrpc_bench::procfs::raise_fd_limit();
    match Cli::parse().command {
        Cmd::Run {
            short,
            axis,
            conn_counts,
            idle_connections,
            spike_connections,
            spike_bytes,
            settle,
            out,
            systems,
            workloads,
            concurrency,
            duration,
            warmup,
            open_loop_rate,
            connections,
            threads,
        } => {
            let duration = duration.unwrap_or(if short { 2.0 } else { 8.0 });
            let warmup = warmup.unwrap_or(if short { 0.5 } else { 2.0 });
            let command = std::iter::once("fastrpc-bench".to_owned())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" ");
            let threads = threads.unwrap_or_else(default_threads);
            if axis.contains(&Axis::Throughput) {
                run::run(&RunOptions {
                    systems: systems.clone(),
                    workloads,
                    concurrency,
                    duration: secs(duration)?,
                    warmup: secs(warmup)?,
                    open_loop_rate,
                    connections,
                    threads,
                    out: out.clone(),
                    command: command.clone(),
                })?;
            }
            if axis.iter().any(|a| *a != Axis::Throughput) {
                scale_run::run(&ScaleOptions {
                    axes: axis,
                    systems,
                    conn_counts: conn_counts.unwrap_or_else(|| {
                        if short {
                            vec![1, 100, 1000]
                        } else {
                            vec![1, 100, 1000, 10_000]
                        }
                    }),
                    idle_connections: idle_connections.unwrap_or(if short { 1000 } else { 5000 }),
                    spike_connections: spike_connections.unwrap_or(if short { 200 } else { 1000 }),
                    spike_bytes,
                    warmup: secs(warmup)?,
                    duration: secs(duration)?,
                    settle: secs(settle)?,
                    threads,
                    out,
                    command,
                })?;
            }
            Ok(())
        }
        Cmd::Scale {
            axis,
            system,
            addr,
            server_pid,
            count,
            bytes,
            warmup,
            duration,
            settle,
            threads,
        } => scale_run::client(&ScaleClientOptions {
            axis,
            target: Target {
                system,
                addr,
                server_pid,
            },
            count,
            bytes,
            warmup: secs(warmup)?,
            duration: secs(duration)?,
            settle: secs(settle)?,
            threads: threads.unwrap_or_else(default_threads),
        }),
        Cmd::Server {
            system,
            workload,
            addr,
            threads,
        } => run::server(
            system,
            workload,
            &addr,
            threads.unwrap_or_else(default_threads),
        ),
        Cmd::Client {
            system,
            workload,
            addr,
            server_pid,
            connections,
            concurrency,
            rate,
            duration,
            warmup,
            threads,
        } => {
            let mode = match rate {
                Some(rate) => Mode::Open {
                    rate,
                    max_outstanding: 4096,
                },
                None => Mode::Closed {
                    concurrency: concurrency.unwrap_or(64),
                },
            };
            run::client(&ClientOptions {
                system,
                workload,
                addr,
                threads: threads.unwrap_or_else(default_threads),
                connections,
                spec: LoadSpec {
                    mode,
                    warmup: secs(warmup)?,
                    duration: secs(duration)?,
                    server_pid,
                },
            })
        }
    }
}
