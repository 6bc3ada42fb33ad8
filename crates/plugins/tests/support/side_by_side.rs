//! The side-by-side harness of the plugin cost measurements (`overhead.rs`,
//! `otel_overhead.rs`): an echo server, closed-loop callers, and alternating rounds of a
//! client without the plugin and one with it.

use fastrpc_client::{Call, CallOptions};
use fastrpc_codec::Raw;
use fastrpc_server::{Context, Server, ServerBuilder, ServiceError};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 64;
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;

/// A server with `Echo.Echo`, the measured method.
pub(crate) fn echo() -> ServerBuilder {
    Server::builder().handler("Echo", "Echo", |_c: Context, p: Raw| async move {
        Ok::<_, ServiceError>(p)
    })
}

/// Calls per second of `CONCURRENCY` callers over one connection for `ROUND`.
async fn calls_per_sec<C: Call + Send + Sync + 'static>(client: Arc<C>) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let args = Raw::from(&[1u8; 64][..]);
                let mut n = 0u64;
                while start.elapsed() < ROUND {
                    client
                        .invoke::<Raw, Raw>("Echo", "Echo", &args, CallOptions::default())
                        .await
                        .map_err(|e| e.to_string())
                        .unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// The rounds of both clients.
pub(crate) struct Comparison {
    plain: Vec<f64>,
    with: Vec<f64>,
}

impl Comparison {
    /// `plain: N calls/s (rounds ..); <what>: N calls/s (rounds ..); cost X%`, best rounds.
    pub(crate) fn report(&self, what: &str) -> String {
        let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
        let rounds = |v: &[f64]| v.iter().map(|x| *x as u64).collect::<Vec<_>>();
        format!(
            "plain: {:.0} calls/s (rounds {:?}); {what}: {:.0} calls/s (rounds {:?}); cost {:.1}%",
            best(&self.plain),
            rounds(&self.plain),
            best(&self.with),
            rounds(&self.with),
            (1.0 - best(&self.with) / best(&self.plain)) * 100.0
        )
    }
}

/// Warms both clients up, then alternates rounds so that machine noise hits both alike.
pub(crate) async fn compare<A, B>(plain: Arc<A>, with: Arc<B>) -> Comparison
where
    A: Call + Send + Sync + 'static,
    B: Call + Send + Sync + 'static,
{
    calls_per_sec(plain.clone()).await;
    calls_per_sec(with.clone()).await;
    let mut c = Comparison {
        plain: Vec::new(),
        with: Vec::new(),
    };
    for _ in 0..ROUNDS {
        c.plain.push(calls_per_sec(plain.clone()).await);
        c.with.push(calls_per_sec(with.clone()).await);
    }
    c
}
