//! `fastrpc bench`: closed-loop load (each of `-c` callers waits for its reply before the
//! next call) for `-n` calls or `-d` time, a live progress bar, and a latency summary.

use crate::args::{BenchArgs, Output};
use crate::payload::{encode_args, read_source};
use crate::target::{Target, call_options};
use anyhow::Context as _;
use fastrpc::Raw;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When the run stops.
#[derive(Clone, Copy)]
enum Stop {
    Calls(u64),
    At(Instant),
}

/// What one caller saw.
struct Tally {
    latencies: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `fastrpc bench`.
pub(crate) async fn run(args: BenchArgs, output: Output) -> anyhow::Result<()> {
    let t = &args.target;
    let (service, method) = t.service_method()?;
    anyhow::ensure!(args.concurrency > 0, "-c must be at least 1");
    let payload = Raw(encode_args(t.serialize, &read_source(&t.args)?)?);
    let target = Arc::new(Target::connect(t, service).await?);
    let start = Instant::now();
    let stop = match (args.requests, args.duration) {
        (_, Some(d)) => Stop::At(start + d),
        (n, None) => Stop::Calls(n.unwrap_or(10_000)),
    };
    let bar = progress_bar(stop, args.quiet || output == Output::Json);
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let caller = Caller {
            target: target.clone(),
            service: service.to_owned(),
            method: method.to_owned(),
            payload: payload.clone(),
            opts: call_options(t, t.timeout),
            issued: issued.clone(),
            bar: bar.clone(),
        };
        tasks.push(tokio::spawn(caller.run(stop)));
    }
    let mut total = Tally::new()?;
    for task in tasks {
        let tally = task.await.context("a caller task failed")??;
        total.merge(tally)?;
    }
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    report(&total, elapsed, args.concurrency, output);
    anyhow::ensure!(
        !total.latencies.is_empty(),
        "no call succeeded: {}",
        total.first_error.unwrap_or_default()
    );
    Ok(())
}

fn progress_bar(stop: Stop, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let (len, template) = match stop {
        Stop::Calls(n) => (n, "{bar:40} {pos}/{len} calls {per_sec} eta {eta}"),
        Stop::At(_) => (0, "{spinner} {pos} calls {per_sec} {elapsed}"),
    };
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// One closed-loop caller.
struct Caller {
    target: Arc<Target>,
    service: String,
    method: String,
    payload: Raw,
    opts: fastrpc::CallOptions,
    issued: Arc<AtomicU64>,
    bar: ProgressBar,
}

impl Caller {
    async fn run(self, stop: Stop) -> anyhow::Result<Tally> {
        let mut tally = Tally::new()?;
        loop {
            match stop {
                Stop::Calls(n) if self.issued.fetch_add(1, Ordering::Relaxed) >= n => break,
                Stop::At(at) if Instant::now() >= at => break,
                _ => {}
            }
            let began = Instant::now();
            let result = self
                .target
                .call(
                    &self.service,
                    &self.method,
                    &self.payload,
                    self.opts.clone(),
                )
                .await;
            match result {
                Ok(_) => {
                    let micros = began.elapsed().as_micros().max(1) as u64;
                    tally.latencies.saturating_record(micros);
                }
                Err(e) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert_with(|| e.to_string());
                }
            }
            self.bar.inc(1);
        }
        Ok(tally)
    }
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            // 1 µs to 10 min at 3 significant digits.
            latencies: Histogram::new_with_bounds(1, 600_000_000, 3)?,
            errors: 0,
            first_error: None,
        })
    }

    fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        self.latencies.add(&other.latencies)?;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }
}

fn report(t: &Tally, elapsed: Duration, concurrency: usize, output: Output) {
    let ok = t.latencies.len();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let q = |p: f64| t.latencies.value_at_quantile(p);
    let summary = json!({
        "calls": ok + t.errors,
        "ok": ok,
        "errors": t.errors,
        "first_error": t.first_error,
        "concurrency": concurrency,
        "elapsed_s": secs,
        "calls_per_s": ok as f64 / secs,
        "latency_us": {
            "min": t.latencies.min(), "mean": t.latencies.mean(),
            "p50": q(0.5), "p99": q(0.99), "p99_9": q(0.999), "max": t.latencies.max(),
        },
    });
    if output == Output::Json {
        println!("{summary}");
        return;
    }
    println!(
        "{} calls in {:.2}s ({} errors), {:.0} calls/s with {} callers",
        ok + t.errors,
        secs,
        t.errors,
        ok as f64 / secs,
        concurrency
    );
    println!(
        "latency: p50 {}  p99 {}  p99.9 {}  max {}",
        micros(q(0.5)),
        micros(q(0.99)),
        micros(q(0.999)),
        micros(t.latencies.max())
    );
    if let Some(e) = &t.first_error {
        println!("first error: {e}");
    }
}

fn micros(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.1}ms", us as f64 / 1000.0)
    } else {
        format!("{us}µs")
    }
}
