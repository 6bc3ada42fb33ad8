//! Fail modes and the engine that runs them over any "call one server" function.

use crate::options::AttemptTimeout;
use crate::router::{Classify, ErrorClass, Pick, Picked, Router, Target};
use crate::selector::SelectRequest;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What a call does when its server fails (rpcx's `FailMode`, with rpcx's numbers).
///
/// No mode retries an error reply of the service (the server ran the call) or the caller's
/// deadline; every mode retries only connection-level failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FailMode {
    /// Retry on another, newly selected server, up to `retries` more times (0).
    #[default]
    Failover,
    /// One attempt; report the failure at once (1).
    Failfast,
    /// Retry the same server, reconnecting, up to `retries` more times (2).
    Failtry,
    /// After `backup_latency` without an answer, send a second request to another server
    /// and take the first answer (3).
    Failbackup,
}

impl FailMode {
    /// The rpcx number of this mode.
    pub fn as_u32(self) -> u32 {
        match self {
            FailMode::Failover => 0,
            FailMode::Failfast => 1,
            FailMode::Failtry => 2,
            FailMode::Failbackup => 3,
        }
    }

    /// The mode with rpcx number `n`.
    pub fn from_u32(n: u32) -> Option<FailMode> {
        Some(match n {
            0 => FailMode::Failover,
            1 => FailMode::Failfast,
            2 => FailMode::Failtry,
            3 => FailMode::Failbackup,
            _ => return None,
        })
    }
}

/// Retry settings shared by the fail modes (rpcx's `Retries`, `RetryInterval`,
/// `BackupLatency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub(crate) retries: u32,
    pub(crate) retry_interval: Duration,
    pub(crate) backup_latency: Duration,
    pub(crate) attempt_timeout: AttemptTimeout,
}

impl RetryPolicy {
    /// The time budget of one Failover attempt when `left` remains of the call and
    /// `attempts_left` attempts (this one included) may still be made; true when the budget
    /// is shorter than what is left, so that running out of it leaves time for a retry.
    fn budget(&self, left: Option<Duration>, attempts_left: u32) -> (Option<Duration>, bool) {
        let cap = match (self.attempt_timeout, left) {
            (AttemptTimeout::Whole, _) => None,
            (AttemptTimeout::Fixed(d), _) => Some(d),
            (AttemptTimeout::Share, Some(left)) => Some(left / attempts_left.max(1)),
            (AttemptTimeout::Share, None) => None,
        };
        match (cap, left) {
            (Some(cap), Some(left)) if cap < left => {
                (Some(cap.max(Duration::from_millis(1))), true)
            }
            (Some(cap), None) => (Some(cap), true),
            _ => (left, false),
        }
    }
}

/// Why the engine gave up without a server's error.
#[derive(Debug)]
pub(crate) enum Failure<E> {
    /// A server's error (the last one, after retries).
    Call(E),
    /// No server is listed.
    NoServer,
    /// Servers are listed but every breaker is open.
    AllBreakersOpen,
    /// The deadline passed before an attempt could start.
    DeadlineExceeded,
}

fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, ()> {
    match deadline {
        None => Ok(None),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(())
            } else {
                Ok(Some(left))
            }
        }
    }
}

fn no_pick<E>(p: Pick) -> Failure<E> {
    match p {
        Pick::NoServer => Failure::NoServer,
        _ => Failure::AllBreakersOpen,
    }
}

/// Runs one logical call under `mode`. `call(server, time_left)` makes one attempt on one
/// server; the engine chooses the servers, records breaker outcomes, retries and races.
///
/// Failover gives each attempt a share of the deadline ([`AttemptTimeout`]) and retries an
/// attempt that ran out of its share on another server while the deadline lasts, so a hung
/// server costs a caller one share, not the whole deadline. Failtry waits for the reconnect
/// backoff of its server to allow a dial (within the deadline) instead of spending its tries
/// on a server that is restarting.
pub(crate) async fn execute<T, E, F, Fut>(
    router: &Router,
    mode: FailMode,
    policy: RetryPolicy,
    req: &SelectRequest<'_>,
    deadline: Option<Instant>,
    call: F,
) -> Result<(Arc<str>, T), Failure<E>>
where
    E: Classify,
    F: Fn(Target, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if mode == FailMode::Failbackup {
        return backup(router, policy, req, deadline, call).await;
    }
    let attempts = match mode {
        FailMode::Failfast => 1,
        _ => policy.retries.saturating_add(1),
    };
    let mut failed: Vec<Arc<str>> = Vec::new();
    let mut last: Option<Failure<E>> = None;
    let mut same_server: Option<Target> = None;
    for attempt in 0..attempts {
        if attempt > 0 {
            let wait = retry_wait(policy, same_server.as_ref(), deadline);
            if wait.is_err() {
                break;
            }
            if let Ok(Some(pause)) = wait {
                tokio::time::sleep(pause).await;
            }
        }
        let Ok(left) = remaining(deadline) else {
            return Err(last.unwrap_or(Failure::DeadlineExceeded));
        };
        let picked = match &same_server {
            // Failtry: the same server again, if it is still listed and its breaker allows.
            Some(target) => match router.claim_key(target.key()) {
                Ok(p) => p,
                Err(_) => break,
            },
            None => match router.pick(req, &failed) {
                Pick::Server(p) => p,
                other => return Err(last.unwrap_or_else(|| no_pick(other))),
            },
        };
        let (budget, cut) = match mode {
            FailMode::Failover => policy.budget(left, attempts - attempt),
            _ => (left, false),
        };
        if mode == FailMode::Failtry {
            same_server = Some(picked.target.clone());
        }
        let result = call(picked.target.clone(), budget).await;
        let key = picked.target.shared_key().clone();
        match result {
            Ok(v) => {
                picked.settle(None);
                tracing::debug!(server = %key, attempt, "call succeeded");
                return Ok((key, v));
            }
            Err(error) => {
                let class = error.class();
                picked.settle(Some(class));
                tracing::debug!(server = %key, attempt, ?class, "call failed");
                // A timeout of an attempt whose budget was cut short of the deadline: the
                // server did not answer in its share, another may.
                let share_ran_out =
                    class == ErrorClass::Deadline && cut && remaining(deadline).is_ok();
                last = Some(Failure::Call(error));
                if class != ErrorClass::Retryable && !share_ran_out {
                    break;
                }
                failed.push(key);
            }
        }
    }
    Err(last.unwrap_or(Failure::NoServer))
}

/// The pause before a retry: the retry interval and, for Failtry, the time until its
/// server's reconnect backoff allows a dial. `Err` when the deadline ends first.
fn retry_wait(
    policy: RetryPolicy,
    same_server: Option<&Target>,
    deadline: Option<Instant>,
) -> Result<Option<Duration>, ()> {
    let backoff = same_server
        .and_then(|t| t.slot().dial_ready_at())
        .map(|at| at.saturating_duration_since(Instant::now()));
    let pause = match backoff {
        Some(b) => b.max(policy.retry_interval),
        None => policy.retry_interval,
    };
    if pause.is_zero() {
        return Ok(None);
    }
    match remaining(deadline)? {
        Some(left) if pause >= left => Err(()),
        _ => Ok(Some(pause)),
    }
}

/// Failbackup: one request, and after `backup_latency` without an answer a second one to
/// another server; the first success wins. A retryable failure of the first request before
/// the latency sends the backup at once; if both fail, the last error is returned. An error
/// reply of the service is an answer and is returned as it is.
async fn backup<T, E, F, Fut>(
    router: &Router,
    policy: RetryPolicy,
    req: &SelectRequest<'_>,
    deadline: Option<Instant>,
    call: F,
) -> Result<(Arc<str>, T), Failure<E>>
where
    E: Classify,
    F: Fn(Target, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let Ok(left) = remaining(deadline) else {
        return Err(Failure::DeadlineExceeded);
    };
    let first = match router.pick(req, &[]) {
        Pick::Server(p) => p,
        other => return Err(no_pick(other)),
    };
    let first_key = first.target.shared_key().clone();
    let first_call = call(first.target.clone(), left);
    let mut first_fut = pin!(attempt(first, first_call));
    let first_result = tokio::select! {
        r = &mut first_fut => Some(r),
        () = tokio::time::sleep(policy.backup_latency) => None,
    };
    let first_failure = match first_result {
        Some(Ok(v)) => return Ok(v),
        Some(Err(f)) if !f.retryable => return Err(f.failure),
        Some(Err(f)) => Some(f.failure),
        None => None,
    };
    tracing::debug!(server = %first_key, "sending backup request");
    let Ok(left) = remaining(deadline) else {
        return Err(first_failure.unwrap_or(Failure::DeadlineExceeded));
    };
    let second = match router.pick(req, std::slice::from_ref(&first_key)) {
        Pick::Server(p) => p,
        _ => {
            return match first_failure {
                Some(f) => Err(f),
                None => first_fut.await.map_err(|f| f.failure),
            };
        }
    };
    let second_call = call(second.target.clone(), left);
    let mut second_fut = pin!(attempt(second, second_call));
    if let Some(f) = first_failure {
        return second_fut
            .await
            .map_err(|s| if s.retryable { f } else { s.failure });
    }
    tokio::select! {
        r = &mut first_fut => match r {
            Ok(v) => Ok(v),
            Err(f) if !f.retryable => Err(f.failure),
            Err(_) => second_fut.await.map_err(|f| f.failure),
        },
        r = &mut second_fut => match r {
            Ok(v) => Ok(v),
            Err(f) if !f.retryable => Err(f.failure),
            Err(_) => first_fut.await.map_err(|f| f.failure),
        },
    }
}

struct AttemptFailure<E> {
    failure: Failure<E>,
    retryable: bool,
}

/// One attempt on a claimed server, settling its breaker.
async fn attempt<T, E: Classify>(
    picked: Picked,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<(Arc<str>, T), AttemptFailure<E>> {
    let key = picked.target.shared_key().clone();
    match fut.await {
        Ok(v) => {
            picked.settle(None);
            Ok((key, v))
        }
        Err(error) => {
            let class = error.class();
            picked.settle(Some(class));
            tracing::debug!(server = %key, ?class, "call failed");
            Err(AttemptFailure {
                failure: Failure::Call(error),
                retryable: class == ErrorClass::Retryable,
            })
        }
    }
}

/// How a call to every server ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllMode {
    /// The first success wins (fork).
    FirstSuccess,
    /// All must succeed; the first error ends the call (broadcast).
    AllSucceed,
    /// Every result is collected (inform).
    Collect,
}

/// Calls every usable server at once. Returns the results in completion order: for
/// `FirstSuccess` one success (or, when all failed, the last error), for `AllSucceed` every
/// success (or the first error), for `Collect` everything.
pub(crate) async fn execute_all<T, E, F, Fut>(
    router: &Router,
    how: AllMode,
    deadline: Option<Instant>,
    call: F,
) -> Result<Vec<(Arc<str>, Result<T, E>)>, Failure<E>>
where
    E: Classify,
    F: Fn(Target, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let Ok(left) = remaining(deadline) else {
        return Err(Failure::DeadlineExceeded);
    };
    let picked = router.claim_all().map_err(no_pick)?;
    let mut running: FuturesUnordered<_> = picked
        .into_iter()
        .map(|p| {
            let key = p.target.shared_key().clone();
            let fut = call(p.target.clone(), left);
            async move {
                let r = fut.await;
                p.settle(r.as_ref().err().map(Classify::class));
                (key, r)
            }
        })
        .collect();
    let mut out = Vec::new();
    let mut last_error = None;
    while let Some((key, r)) = running.next().await {
        match (how, r) {
            (AllMode::FirstSuccess, Ok(v)) => return Ok(vec![(key, Ok(v))]),
            (AllMode::FirstSuccess, Err(error)) => last_error = Some(error),
            (AllMode::AllSucceed, Err(error)) => {
                return Err(Failure::Call(error));
            }
            (_, r) => out.push((key, r)),
        }
    }
    match last_error {
        Some(error) => Err(Failure::Call(error)),
        None => Ok(out),
    }
}

#[cfg(test)]
#[path = "fail_mode_tests.rs"]
mod tests;
