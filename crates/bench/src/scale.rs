//! The client side of the scale axes, run inside the `scale` role against a server process
//! whose memory it reads from `/proc`:
//!
//! - **connections**: N connections with one caller each, closed loop; calls/s, p99, and the
//!   server's peak and resident memory with every connection open;
//! - **idle**: memory per connection, N silent connections and then after one call on each;
//! - **spike**: N connections each sending one large call at once, then the memory the server
//!   keeps while they sit idle and after they close (where the allocator shows).

use crate::load::{self, LoadSpec, Mode};
use crate::procfs;
use crate::scale_report::{ConnectionsResult, IdleResult, SpikeResult};
use crate::system::{Connections, System, Workload};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Calls sent at once when every connection makes one call in the idle measurement.
const CALL_PARALLELISM: usize = 64;

/// Where and what to measure.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The system served.
    pub system: System,
    /// The server's address.
    pub addr: SocketAddr,
    /// The server process, whose memory is read.
    pub server_pid: u32,
}

fn kib_per_conn(after_kib: u64, before_kib: u64, conns: usize) -> f64 {
    (after_kib as f64 - before_kib as f64) / conns.max(1) as f64
}

/// One point of the connections axis: `conns` connections, one caller on each.
pub async fn connections_point(
    t: Target,
    conns: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<ConnectionsResult> {
    let base = procfs::memory(t.server_pid)?;
    let opened = Connections::open(t.system, Workload::Opaque, t.addr, conns).await?;
    let spec = LoadSpec {
        mode: Mode::Closed {
            concurrency: opened.len(),
        },
        warmup,
        duration,
        server_pid: Some(t.server_pid),
    };
    let m = load::run(&opened, &spec).await?;
    let end = procfs::memory(t.server_pid)?;
    drop(opened);
    let secs = m.elapsed.as_secs_f64();
    Ok(ConnectionsResult {
        system: t.system.name().to_owned(),
        connections: conns,
        calls_per_sec: if secs > 0.0 {
            m.calls as f64 / secs
        } else {
            0.0
        },
        p99_us: m.histogram.value_at_quantile(0.99) as f64 / 1000.0,
        errors: m.errors,
        server_base_kib: base.rss_kib,
        server_rss_kib: end.rss_kib,
        server_peak_kib: end.peak_kib,
        rss_per_conn_kib: kib_per_conn(end.rss_kib, base.rss_kib, conns),
    })
}

/// Memory per idle connection: `conns` silent connections, then one call on each.
pub async fn idle_memory(t: Target, conns: usize, settle: Duration) -> anyhow::Result<IdleResult> {
    // One connection and one call first, so that what the server sets up once (runtime,
    // buffers, lazy statics) is in the baseline, not spread over the connections.
    let mut warm = Connections::open(t.system, Workload::Opaque, t.addr, 1)
        .await?
        .caller(0);
    warm.call().await?;
    tokio::time::sleep(settle).await;
    let base = procfs::memory(t.server_pid)?;

    let opened = Connections::open(t.system, Workload::Opaque, t.addr, conns).await?;
    tokio::time::sleep(settle).await;
    let silent = procfs::memory(t.server_pid)?;

    futures_util::stream::iter(0..opened.len())
        .map(|i| {
            let mut caller = opened.caller(i);
            async move { caller.call().await }
        })
        .buffer_unordered(CALL_PARALLELISM)
        .try_collect::<Vec<()>>()
        .await?;
    tokio::time::sleep(settle).await;
    let called = procfs::memory(t.server_pid)?;
    drop(opened);
    Ok(IdleResult {
        system: t.system.name().to_owned(),
        connections: conns,
        server_base_kib: base.rss_kib,
        server_silent_kib: silent.rss_kib,
        server_called_kib: called.rss_kib,
        silent_per_conn_kib: kib_per_conn(silent.rss_kib, base.rss_kib, conns),
        called_per_conn_kib: kib_per_conn(called.rss_kib, base.rss_kib, conns),
    })
}

/// A spike: `conns` connections each echo `bytes` at the same moment; then idle, then closed.
pub async fn spike(
    t: Target,
    conns: usize,
    bytes: usize,
    settle: Duration,
) -> anyhow::Result<SpikeResult> {
    let opened = Connections::open(t.system, Workload::Opaque, t.addr, conns).await?;
    let base = procfs::memory(t.server_pid)?;
    let payload = Bytes::from(vec![0x5a; bytes]);
    let started = Instant::now();
    let calls: Vec<_> = (0..opened.len())
        .map(|i| {
            let mut caller = opened.caller(i);
            let payload = payload.clone();
            tokio::spawn(async move { caller.echo(&payload).await })
        })
        .collect();
    let mut errors = 0u64;
    for call in calls {
        if call
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r)
            .is_err()
        {
            errors += 1;
        }
    }
    let took = started.elapsed();
    let after_spike = procfs::memory(t.server_pid)?;
    tokio::time::sleep(settle).await;
    let idle = procfs::memory(t.server_pid)?;
    drop(opened);
    tokio::time::sleep(settle).await;
    let closed = procfs::memory(t.server_pid)?;
    Ok(SpikeResult {
        system: t.system.name().to_owned(),
        allocator: crate::ALLOCATOR.to_owned(),
        connections: conns,
        bytes_per_call: bytes,
        errors,
        spike_secs: took.as_secs_f64(),
        server_base_kib: base.rss_kib,
        server_peak_kib: after_spike.peak_kib,
        server_idle_kib: idle.rss_kib,
        server_closed_kib: closed.rss_kib,
    })
}
