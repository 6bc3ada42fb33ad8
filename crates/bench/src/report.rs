//! Results: one [`PointResult`] per measured point, written as CSV, a Markdown table with the
//! ratios the issue asks for, and an SVG chart per workload.

use crate::load::{LoadSpec, Measurement, Mode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// One measured point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PointResult {
    /// System name.
    pub system: String,
    /// Workload name.
    pub workload: String,
    /// `closed` or `open`.
    pub mode: String,
    /// Callers (closed loop); 0 in open loop.
    pub concurrency: usize,
    /// Offered calls per second (open loop); 0 in closed loop.
    pub rate: u64,
    /// Connections (channels for tonic) the callers share.
    pub connections: usize,
    /// Length of the measured window in seconds.
    pub secs: f64,
    /// Successful calls counted in the window.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Calls per second.
    pub calls_per_sec: f64,
    /// Mean latency, µs.
    pub mean_us: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// 99.9th percentile latency, µs.
    pub p999_us: f64,
    /// Largest latency, µs.
    pub max_us: f64,
    /// Server process CPU seconds (user + system) in the window.
    pub server_cpu_s: f64,
    /// Client process CPU seconds (user + system) in the window.
    pub client_cpu_s: f64,
}

impl PointResult {
    /// Summarises a measurement.
    pub fn new(
        system: &str,
        workload: &str,
        spec: &LoadSpec,
        connections: usize,
        m: &Measurement,
    ) -> PointResult {
        let (mode, concurrency, rate) = match spec.mode {
            Mode::Closed { concurrency } => ("closed", concurrency, 0),
            Mode::Open { rate, .. } => ("open", 0, rate),
        };
        let h = &m.histogram;
        let us = |ns: u64| ns as f64 / 1000.0;
        let secs = m.elapsed.as_secs_f64();
        let empty = h.is_empty();
        PointResult {
            system: system.to_owned(),
            workload: workload.to_owned(),
            mode: mode.to_owned(),
            concurrency,
            rate,
            connections,
            secs,
            calls: m.calls,
            errors: m.errors,
            calls_per_sec: m.calls as f64 / secs.max(1e-9),
            mean_us: if empty { 0.0 } else { h.mean() / 1000.0 },
            p50_us: us(h.value_at_quantile(0.50)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
            server_cpu_s: m.server_cpu.map_or(f64::NAN, |d| d.as_secs_f64()),
            client_cpu_s: m.client_cpu.as_secs_f64(),
        }
    }

    /// Server CPU µs per call.
    pub fn server_us_per_call(&self) -> f64 {
        self.server_cpu_s * 1e6 / self.calls.max(1) as f64
    }

    /// Client CPU µs per call.
    pub fn client_us_per_call(&self) -> f64 {
        self.client_cpu_s * 1e6 / self.calls.max(1) as f64
    }

    /// Server plus client CPU µs per call.
    pub fn total_us_per_call(&self) -> f64 {
        self.server_us_per_call() + self.client_us_per_call()
    }

    fn label(&self) -> String {
        if self.mode == "open" {
            format!("open {}/s", self.rate)
        } else {
            self.concurrency.to_string()
        }
    }
}

/// The machine the figures come from.
#[derive(Debug, Clone)]
pub struct MachineInfo {
    /// Logical CPUs.
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
    /// `/proc/loadavg` (1, 5 and 15 minute load averages) when the run started: other work on
    /// the machine skews the figures.
    pub load_at_start: String,
    /// The source measured: `git` commit, and whether `crates/` had uncommitted changes.
    pub revision: String,
}

impl MachineInfo {
    /// Reads the machine's description from the OS.
    pub fn detect() -> MachineInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned());
        MachineInfo {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
            load_at_start: load_average(),
            revision: source_revision(),
        }
    }
}

/// `git rev-parse --short HEAD`, plus a note when `crates/` differs from it.
fn source_revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        None => "unknown (not a git checkout)".to_owned(),
        Some(head) => match git(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "crates",
        ]) {
            Some(changes) if !changes.is_empty() => format!(
                "commit {head} with uncommitted changes in {} file(s) under crates/",
                changes.lines().count()
            ),
            _ => format!("commit {head}"),
        },
    }
}

/// The 1, 5 and 15 minute load averages from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// CSV with one row per point.
pub fn to_csv(results: &[PointResult]) -> String {
    let mut out = String::from(
        "system,workload,mode,concurrency,rate,connections,secs,calls,errors,calls_per_sec,\
         mean_us,p50_us,p99_us,p999_us,max_us,server_cpu_s,client_cpu_s,\
         server_cpu_us_per_call,client_cpu_us_per_call,total_cpu_us_per_call\n",
    );
    for r in results {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:.3},{},{},{:.0},{:.1},{:.1},{:.1},{:.1},{:.1},{:.3},{:.3},{:.2},{:.2},{:.2}",
            r.system,
            r.workload,
            r.mode,
            r.concurrency,
            r.rate,
            r.connections,
            r.secs,
            r.calls,
            r.errors,
            r.calls_per_sec,
            r.mean_us,
            r.p50_us,
            r.p99_us,
            r.p999_us,
            r.max_us,
            r.server_cpu_s,
            r.client_cpu_s,
            r.server_us_per_call(),
            r.client_us_per_call(),
            r.total_us_per_call(),
        );
    }
    out
}

fn find<'a>(
    results: &'a [PointResult],
    system: &str,
    workload: &str,
    c: usize,
) -> Option<&'a PointResult> {
    results.iter().find(|r| {
        r.mode == "closed" && r.system == system && r.workload == workload && r.concurrency == c
    })
}

/// The Markdown report: machine, command, one table per workload, open-loop table, ratios and
/// the issue's goals judged at C = 64 and 256.
pub fn to_markdown(results: &[PointResult], machine: &MachineInfo, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Results\n");
    let _ = writeln!(
        out,
        "Machine: {} logical CPUs, {}, Linux {}. Load average (1/5/15 min) at the start: {}; \
         when this file was written: {}. Source: {}. Command: `{}`.\n",
        machine.nproc,
        machine.cpu_model,
        machine.kernel,
        machine.load_at_start,
        load_average(),
        machine.revision,
        command
    );
    let workloads: BTreeSet<&str> = results.iter().map(|r| r.workload.as_str()).collect();
    for w in ["opaque", "proto"] {
        if !workloads.contains(w) {
            continue;
        }
        let title = match w {
            "opaque" => "Opaque 581-byte echo",
            _ => "Protobuf BenchmarkMessage (581 bytes), Hello.Say",
        };
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(
            out,
            "| system | C | conns | calls/s | mean µs | p50 µs | p99 µs | p99.9 µs | server CPU µs/call | client CPU µs/call | total CPU µs/call | errors |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut rows: Vec<&PointResult> = results.iter().filter(|r| r.workload == w).collect();
        rows.sort_by_key(|r| {
            (
                r.mode != "closed",
                r.concurrency,
                r.rate,
                system_rank(&r.system),
            )
        });
        for r in rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {} |",
                r.system,
                r.label(),
                r.connections,
                r.calls_per_sec,
                r.mean_us,
                r.p50_us,
                r.p99_us,
                r.p999_us,
                r.server_us_per_call(),
                r.client_us_per_call(),
                r.total_us_per_call(),
                r.errors
            );
        }
        let _ = writeln!(out);
    }
    out.push_str(&goals(results));
    out
}

fn system_rank(s: &str) -> usize {
    ["fastrpc", "bare", "tarpc", "tonic", "tonic-multi"]
        .iter()
        .position(|x| *x == s)
        .unwrap_or(99)
}

fn yes(b: bool) -> &'static str {
    if b { "**met**" } else { "not met" }
}

/// The issue's goals at C = 64 and C = 256, judged from `results`.
pub fn goals(results: &[PointResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Ratios and goals\n");
    let _ = writeln!(out, "| C | goal | measured | verdict |");
    let _ = writeln!(out, "|---:|---|---|---|");
    let mut any = false;
    for c in [64, 256] {
        if let Some(f) = find(results, "fastrpc", "opaque", c) {
            if let Some(t) = find(results, "tarpc", "opaque", c) {
                let ratio = f.calls_per_sec / t.calls_per_sec.max(1e-9);
                let _ = writeln!(
                    out,
                    "| {c} | opaque: fastrpc ≥ 2× tarpc calls/s | {ratio:.2}× ({:.0} vs {:.0}) | {} |",
                    f.calls_per_sec,
                    t.calls_per_sec,
                    yes(ratio >= 2.0)
                );
                let _ = writeln!(
                    out,
                    "| {c} | opaque: fastrpc p99 ≤ tarpc p99 | {:.0} µs vs {:.0} µs | {} |",
                    f.p99_us,
                    t.p99_us,
                    yes(f.p99_us <= t.p99_us)
                );
            }
            if let Some(b) = find(results, "bare", "opaque", c) {
                let ratio = f.calls_per_sec / b.calls_per_sec.max(1e-9);
                let _ = writeln!(
                    out,
                    "| {c} | opaque: fastrpc ≥ 0.5× bare baseline calls/s | {ratio:.2}× ({:.0} vs {:.0}) | {} |",
                    f.calls_per_sec,
                    b.calls_per_sec,
                    yes(ratio >= 0.5)
                );
            }
            any = true;
            let _ = writeln!(
                out,
                "| {c} | opaque: fastrpc total CPU ≤ 7 µs/call | {:.2} µs (server {:.2} + client {:.2}) | {} |",
                f.total_us_per_call(),
                f.server_us_per_call(),
                f.client_us_per_call(),
                yes(f.total_us_per_call() <= 7.0)
            );
        }
        if let Some(f) = find(results, "fastrpc", "proto", c) {
            for tonic in ["tonic", "tonic-multi"] {
                if let Some(t) = find(results, tonic, "proto", c) {
                    any = true;
                    let ratio = f.calls_per_sec / t.calls_per_sec.max(1e-9);
                    let _ = writeln!(
                        out,
                        "| {c} | proto: fastrpc ≥ 3× {tonic} calls/s | {ratio:.2}× ({:.0} vs {:.0}) | {} |",
                        f.calls_per_sec,
                        t.calls_per_sec,
                        yes(ratio >= 3.0)
                    );
                    let _ = writeln!(
                        out,
                        "| {c} | proto: fastrpc p99 ≤ {tonic} p99 | {:.0} µs vs {:.0} µs | {} |",
                        f.p99_us,
                        t.p99_us,
                        yes(f.p99_us <= t.p99_us)
                    );
                }
            }
        }
    }
    if !any {
        let _ = writeln!(
            out,
            "| – | (fastrpc was not measured at C = 64 or 256) | – | – |"
        );
    }
    let _ = writeln!(out);
    out
}

const COLORS: [(&str, &str); 5] = [
    ("fastrpc", "#d62728"),
    ("bare", "#7f7f7f"),
    ("tarpc", "#1f77b4"),
    ("tonic", "#2ca02c"),
    ("tonic-multi", "#98df8a"),
];

fn color(system: &str) -> &'static str {
    COLORS
        .iter()
        .find(|(s, _)| *s == system)
        .map_or("#9467bd", |(_, c)| c)
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let base = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * base)
}

fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// A hand-written SVG with two panels for `workload`: calls/s by C (linear) and p99 latency by
/// C (log scale), one line per system. `None` when the workload has no closed-loop point.
pub fn to_svg(results: &[PointResult], workload: &str) -> Option<String> {
    let rows: Vec<&PointResult> = results
        .iter()
        .filter(|r| r.workload == workload && r.mode == "closed" && r.calls > 0)
        .collect();
    if rows.is_empty() {
        return None;
    }
    let cs: Vec<usize> = rows
        .iter()
        .map(|r| r.concurrency)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut systems: Vec<&str> = rows
        .iter()
        .map(|r| r.system.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    systems.sort_by_key(|s| system_rank(s));

    let (w, h) = (1000.0, 440.0);
    let (pw, ph) = (400.0, 300.0);
    let top = 70.0;
    let lefts = [80.0, 580.0];
    let x_of = |left: f64, c: usize| {
        let i = cs.iter().position(|x| *x == c).unwrap_or(0) as f64;
        let n = (cs.len().max(2) - 1) as f64;
        left + 20.0 + i * (pw - 40.0) / n
    };
    let tp_step = nice_step(rows.iter().map(|r| r.calls_per_sec).fold(0.0, f64::max) / 5.0);
    let tp_ticks = (rows.iter().map(|r| r.calls_per_sec).fold(0.0, f64::max) / tp_step).ceil();
    let max_tp = tp_step * tp_ticks.max(1.0);
    let p99s: Vec<f64> = rows.iter().map(|r| r.p99_us.max(1.0)).collect();
    let lo = p99s
        .iter()
        .copied()
        .fold(f64::MAX, f64::min)
        .log10()
        .floor();
    let hi = p99s
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let y_tp = |v: f64| top + ph - v / max_tp.max(1.0) * ph;
    let y_lat = |v: f64| top + ph - (v.max(1.0).log10() - lo) / (hi - lo) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" font-size="16" text-anchor="middle">{workload} workload: closed loop, by concurrency C</text>"#,
        w / 2.0
    );
    for (panel, title) in [(0, "calls per second"), (1, "p99 latency (µs, log scale)")] {
        let left = lefts[panel];
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="13">{title}</text>"#,
            left + pw / 2.0,
            top - 10.0
        );
        let _ = writeln!(
            s,
            r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
        );
        for &c in &cs {
            let x = x_of(left, c);
            let _ = writeln!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">{c}</text>"#,
                top + ph + 16.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">C (concurrent callers)</text>"#,
            left + pw / 2.0,
            top + ph + 34.0
        );
        if panel == 0 {
            for k in 0..=(tp_ticks.max(1.0) as usize) {
                let v = tp_step * k as f64;
                let y = y_tp(v);
                let _ = writeln!(
                    s,
                    r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                    left + pw,
                    left - 6.0,
                    y + 4.0,
                    si(v)
                );
            }
        } else {
            let mut e = lo;
            while e <= hi {
                let v = 10f64.powf(e);
                let y = y_lat(v);
                let _ = writeln!(
                    s,
                    r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                    left + pw,
                    left - 6.0,
                    y + 4.0,
                    si(v)
                );
                e += 1.0;
            }
        }
        for sys in &systems {
            let mut pts: Vec<&&PointResult> = rows.iter().filter(|r| r.system == *sys).collect();
            pts.sort_by_key(|r| r.concurrency);
            let coords: Vec<(f64, f64)> = pts
                .iter()
                .map(|r| {
                    let x = x_of(left, r.concurrency);
                    let y = if panel == 0 {
                        y_tp(r.calls_per_sec)
                    } else {
                        y_lat(r.p99_us)
                    };
                    (x, y)
                })
                .collect();
            let path: Vec<String> = coords
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let col = color(sys);
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{col}" stroke-width="2"/>"#,
                path.join(" ")
            );
            for (x, y) in coords {
                let _ = writeln!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{col}"/>"#);
            }
        }
    }
    for (i, sys) in systems.iter().enumerate() {
        let x = 80.0 + i as f64 * 150.0;
        let y = 40.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="14" height="4" fill="{}"/><text x="{}" y="{}">{sys}</text>"#,
            y - 4.0,
            color(sys),
            x + 20.0,
            y + 2.0
        );
    }
    s.push_str("</svg>\n");
    Some(s)
}

/// Writes `results.csv`, `results.md` and one SVG per workload into `dir`.
pub fn write_all(
    dir: &Path,
    results: &[PointResult],
    machine: &MachineInfo,
    command: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("results.csv"), to_csv(results))?;
    std::fs::write(
        dir.join("results.md"),
        to_markdown(results, machine, command),
    )?;
    for w in ["opaque", "proto"] {
        if let Some(svg) = to_svg(results, w) {
            std::fs::write(dir.join(format!("{w}.svg")), svg)?;
        }
    }
    Ok(())
}
