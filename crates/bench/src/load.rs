//! The load generators: closed loop (C callers back to back) and open loop (a fixed rate,
//! latency taken from each call's intended send time so a slow reply does not hide the calls
//! that should have been sent meanwhile: no coordinated omission).

use crate::cpu;
use crate::system::Connections;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

/// Latency histograms are split in this many shards so callers rarely share a lock.
const SHARDS: usize = 16;
/// Longest latency the histograms hold (larger values are clamped).
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// How load is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `concurrency` callers, each issuing its next call as soon as the previous returns.
    Closed {
        /// Number of callers.
        concurrency: usize,
    },
    /// Calls sent at `rate` per second whatever the replies do.
    Open {
        /// Calls per second.
        rate: u64,
        /// At most this many calls in flight; past it sending waits (and the wait counts in
        /// the latency, since latency runs from the intended send time).
        max_outstanding: usize,
    },
}

/// One measurement run.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpec {
    /// How load is offered.
    pub mode: Mode,
    /// Load before the measured window.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// The server process, whose CPU time is read at both ends of the window.
    pub server_pid: Option<u32>,
}

/// What one run measured.
#[derive(Debug)]
pub struct Measurement {
    /// Successful calls counted in the window.
    pub calls: u64,
    /// Failed calls (whole run).
    pub errors: u64,
    /// Length of the window.
    pub elapsed: Duration,
    /// Latency in nanoseconds of each counted call.
    pub histogram: Histogram<u64>,
    /// CPU time of this (client) process during the window.
    pub client_cpu: Duration,
    /// CPU time of the server process during the window, if its pid was given.
    pub server_cpu: Option<Duration>,
}

struct Recorder {
    measuring: AtomicBool,
    stopped: AtomicBool,
    shards: Vec<Mutex<Histogram<u64>>>,
    calls: AtomicU64,
    errors: AtomicU64,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            measuring: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            shards: (0..SHARDS).map(|_| Mutex::new(new_histogram())).collect(),
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    fn record(&self, shard: usize, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.shards[shard % SHARDS]
            .lock()
            .expect("histogram shard")
            .saturating_record(ns.min(MAX_LATENCY_NS));
    }

    fn merged(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for shard in &self.shards {
            all.add(&*shard.lock().expect("histogram shard"))
                .expect("same bounds");
        }
        all
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}

struct CpuMark {
    client: Duration,
    server: Option<Duration>,
}

fn cpu_mark(server_pid: Option<u32>) -> CpuMark {
    CpuMark {
        client: cpu::self_cpu(),
        server: server_pid.and_then(|pid| cpu::process_cpu(pid).ok()),
    }
}

/// Runs `spec` against `conns` in the current tokio runtime.
pub async fn run(conns: &Connections, spec: &LoadSpec) -> anyhow::Result<Measurement> {
    let rec = Arc::new(Recorder::new());
    let start = tokio::time::Instant::now();
    let window_start = start + spec.warmup;
    let window_end = window_start + spec.duration;

    let driver = match spec.mode {
        Mode::Closed { concurrency } => {
            tokio::spawn(closed_loop(conns, concurrency, Arc::clone(&rec)))
        }
        Mode::Open {
            rate,
            max_outstanding,
        } => tokio::spawn(open_loop(
            conns,
            rate,
            max_outstanding,
            window_start.into_std(),
            window_end.into_std(),
            Arc::clone(&rec),
        )),
    };

    tokio::time::sleep_until(window_start).await;
    let before = cpu_mark(spec.server_pid);
    let measured_from = Instant::now();
    rec.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep_until(window_end).await;
    rec.measuring.store(false, Ordering::Relaxed);
    let elapsed = measured_from.elapsed();
    let after = cpu_mark(spec.server_pid);
    rec.stopped.store(true, Ordering::Relaxed);
    driver.await??;

    let histogram = rec.merged();
    Ok(Measurement {
        calls: rec.calls.load(Ordering::Relaxed),
        errors: rec.errors.load(Ordering::Relaxed),
        elapsed,
        histogram,
        client_cpu: after.client.saturating_sub(before.client),
        server_cpu: match (before.server, after.server) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b)),
            _ => None,
        },
    })
}

/// `concurrency` callers back to back; a call counts when it completes inside the window.
fn closed_loop(
    conns: &Connections,
    concurrency: usize,
    rec: Arc<Recorder>,
) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
    let callers: Vec<_> = (0..concurrency.max(1)).map(|i| conns.caller(i)).collect();
    async move {
        let mut tasks = Vec::with_capacity(callers.len());
        for (i, mut caller) in callers.into_iter().enumerate() {
            let rec = Arc::clone(&rec);
            tasks.push(tokio::spawn(async move {
                let mut calls = 0u64;
                while !rec.stopped.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let result = caller.call().await;
                    let latency = sent.elapsed();
                    match result {
                        Ok(()) if rec.measuring.load(Ordering::Relaxed) => {
                            rec.record(i, latency);
                            calls += 1;
                        }
                        Ok(()) => {}
                        Err(e) => {
                            if rec.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("first failed call: {e:#}");
                            }
                            // Do not spin on a dead connection.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
                rec.calls.fetch_add(calls, Ordering::Relaxed);
            }));
        }
        for task in tasks {
            task.await?;
        }
        Ok(())
    }
}

/// Calls sent at `rate` per second from `window_start - warmup` to `window_end`; a call counts
/// when its intended send time falls in the window, and its latency runs from that time.
fn open_loop(
    conns: &Connections,
    rate: u64,
    max_outstanding: usize,
    window_start: Instant,
    window_end: Instant,
    rec: Arc<Recorder>,
) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
    let callers: Vec<_> = (0..conns.len()).map(|i| conns.caller(i)).collect();
    async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
        // A plain thread paces the sends: tokio's timer has millisecond granularity, which
        // would bunch calls and add up to a millisecond of made-up latency.
        let pacer = std::thread::spawn(move || pace(rate.max(1), window_end, tx));
        let permits = Arc::new(Semaphore::new(max_outstanding));
        let mut next = 0usize;
        while let Some(intended) = rx.recv().await {
            let permit = Arc::clone(&permits).acquire_owned().await?;
            let mut caller = callers[next % callers.len()].clone();
            next += 1;
            let rec = Arc::clone(&rec);
            tokio::spawn(async move {
                let result = caller.call().await;
                let latency = intended.elapsed();
                let counted = intended >= window_start && intended < window_end;
                match result {
                    Ok(()) if counted => {
                        rec.record(next, latency);
                        rec.calls.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(()) => {}
                    Err(e) => {
                        if rec.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("first failed call: {e:#}");
                        }
                    }
                }
                drop(permit);
            });
        }
        let _ = pacer.join();
        // Wait (bounded) for the calls still in flight: they belong to the window.
        let all = u32::try_from(max_outstanding).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(all)).await;
        Ok(())
    }
}

/// Emits intended send times `start + i / rate` until `end`.
fn pace(rate: u64, end: Instant, tx: mpsc::UnboundedSender<Instant>) {
    let start = Instant::now();
    let period = Duration::from_nanos(1_000_000_000 / rate).max(Duration::from_nanos(1));
    let mut i: u32 = 0;
    let mut next = start;
    loop {
        let now = Instant::now();
        while next <= now {
            if next >= end || tx.send(next).is_err() {
                return;
            }
            i = i.wrapping_add(1);
            next = start + period * i;
        }
        std::thread::sleep((next - now).min(Duration::from_micros(500)));
    }
}
