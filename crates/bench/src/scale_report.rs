//! Results of the scale axes (connections, idle memory, spike) and their Markdown and CSV.

use crate::report::{MachineInfo, load_average};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// One point of the connections axis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionsResult {
    /// System name.
    pub system: String,
    /// Connections, each with one caller.
    pub connections: usize,
    /// Calls per second over all connections.
    pub calls_per_sec: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// Failed calls.
    pub errors: u64,
    /// Server RSS before the connections opened, KiB.
    pub server_base_kib: u64,
    /// Server RSS at the end of the window, every connection open, KiB.
    pub server_rss_kib: u64,
    /// Server peak RSS (`VmHWM`) over its life, KiB.
    pub server_peak_kib: u64,
    /// (RSS at the end - RSS before) / connections, KiB.
    pub rss_per_conn_kib: f64,
}

/// Memory per idle connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdleResult {
    /// System name.
    pub system: String,
    /// Connections opened.
    pub connections: usize,
    /// Server RSS after one warm-up connection and call, KiB.
    pub server_base_kib: u64,
    /// Server RSS with every connection open and silent, KiB.
    pub server_silent_kib: u64,
    /// Server RSS after one call on every connection, KiB.
    pub server_called_kib: u64,
    /// RSS growth per silent connection, KiB.
    pub silent_per_conn_kib: f64,
    /// RSS growth per connection after one call on each, KiB.
    pub called_per_conn_kib: f64,
}

/// Memory kept after a spike of large calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpikeResult {
    /// System name.
    pub system: String,
    /// The allocator the binary was built with (`system` or `mimalloc`).
    pub allocator: String,
    /// Connections, one call each.
    pub connections: usize,
    /// Bytes of each call (and of its reply).
    pub bytes_per_call: usize,
    /// Failed calls.
    pub errors: u64,
    /// Seconds from the first call sent to the last reply.
    pub spike_secs: f64,
    /// Server RSS with the connections open, before the calls, KiB.
    pub server_base_kib: u64,
    /// Server peak RSS (`VmHWM`), KiB.
    pub server_peak_kib: u64,
    /// Server RSS after the spike, connections open and idle, KiB.
    pub server_idle_kib: u64,
    /// Server RSS after the connections closed, KiB.
    pub server_closed_kib: u64,
}

/// Everything the scale axes measured in one run.
#[derive(Debug, Clone, Default)]
pub struct ScaleResults {
    /// Connections axis points.
    pub connections: Vec<ConnectionsResult>,
    /// Idle memory points.
    pub idle: Vec<IdleResult>,
    /// Spike points.
    pub spike: Vec<SpikeResult>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The Markdown report of the scale axes.
pub fn to_markdown(r: &ScaleResults, machine: &MachineInfo, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Scale results\n");
    let _ = writeln!(
        out,
        "Machine: {} logical CPUs, {}, Linux {}. Load average (1/5/15 min) at the start: {}; \
         when this file was written: {}. Source: {}. Allocator: {}. Command: `{}`.\n",
        machine.nproc,
        machine.cpu_model,
        machine.kernel,
        machine.load_at_start,
        load_average(),
        machine.revision,
        crate::ALLOCATOR,
        command
    );
    if !r.connections.is_empty() {
        let _ = writeln!(
            out,
            "### Connections axis (one caller per connection, 581-byte echo)\n\n\
             | system | conns | calls/s | p99 µs | server peak RSS MiB | server RSS MiB (all open) | RSS per conn KiB | errors |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for p in &r.connections {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
                p.system,
                p.connections,
                p.calls_per_sec,
                p.p99_us,
                mib(p.server_peak_kib),
                mib(p.server_rss_kib),
                p.rss_per_conn_kib,
                p.errors
            );
        }
        out.push('\n');
    }
    if !r.idle.is_empty() {
        let _ = writeln!(
            out,
            "### Memory per idle connection (server RSS growth)\n\n\
             | system | conns | base MiB | silent MiB | after one call MiB | KiB per silent conn | KiB per conn after one call |\n\
             |---|---:|---:|---:|---:|---:|---:|"
        );
        for p in &r.idle {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                p.system,
                p.connections,
                mib(p.server_base_kib),
                mib(p.server_silent_kib),
                mib(p.server_called_kib),
                p.silent_per_conn_kib,
                p.called_per_conn_kib
            );
        }
        out.push('\n');
    }
    if !r.spike.is_empty() {
        let _ = writeln!(
            out,
            "### Memory kept after a spike\n\n\
             | system | allocator | conns x bytes | spike s | base MiB | peak MiB | idle after MiB | closed after MiB | errors |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for p in &r.spike {
            let _ = writeln!(
                out,
                "| {} | {} | {} x {} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                p.system,
                p.allocator,
                p.connections,
                p.bytes_per_call,
                p.spike_secs,
                mib(p.server_base_kib),
                mib(p.server_peak_kib),
                mib(p.server_idle_kib),
                mib(p.server_closed_kib),
                p.errors
            );
        }
        out.push('\n');
    }
    out
}

/// Writes `scale.md` (or `scale-mimalloc.md` from a mimalloc build) and `scale.json` beside it.
pub fn write_all(
    dir: &Path,
    r: &ScaleResults,
    machine: &MachineInfo,
    command: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stem = if crate::ALLOCATOR == "system" {
        "scale".to_owned()
    } else {
        format!("scale-{}", crate::ALLOCATOR)
    };
    std::fs::write(
        dir.join(format!("{stem}.md")),
        to_markdown(r, machine, command),
    )?;
    let json = serde_json::json!({
        "connections": r.connections,
        "idle": r.idle,
        "spike": r.spike,
    });
    std::fs::write(
        dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(&json)?,
    )?;
    Ok(())
}
