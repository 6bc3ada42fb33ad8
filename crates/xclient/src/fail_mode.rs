//! Fail modes and the engine that runs them over any "call one server" function.

use crate::router::{Classify, ErrorClass, Pick, Picked, Router};
use crate::selector::SelectRequest;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::future::Future;
use std::pin::pin;
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

/// Runs one logical call under `mode`. `call(server_key, time_left)` makes one attempt on
/// one server; the engine chooses the servers, records breaker outcomes, retries and races.
pub(crate) async fn execute<T, E, F, Fut>(
    router: &Router,
    mode: FailMode,
    policy: RetryPolicy,
    req: &SelectRequest<'_>,
    deadline: Option<Instant>,
    call: F,
) -> Result<(String, T), Failure<E>>
where
    E: Classify,
    F: Fn(String, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if mode == FailMode::Failbackup {
        return backup(router, policy, req, deadline, call).await;
    }
    let attempts = match mode {
        FailMode::Failfast => 1,
        _ => policy.retries.saturating_add(1),
    };
    let mut failed: Vec<String> = Vec::new();
    let mut last: Option<Failure<E>> = None;
    let mut same_server: Option<crate::discovery::ServerEntry> = None;
    for attempt in 0..attempts {
        if attempt > 0 && !policy.retry_interval.is_zero() {
            let pause = match remaining(deadline) {
                Ok(Some(left)) => policy.retry_interval.min(left),
                Ok(None) => policy.retry_interval,
                Err(()) => break,
            };
            tokio::time::sleep(pause).await;
        }
        let Ok(left) = remaining(deadline) else {
            return Err(last.unwrap_or(Failure::DeadlineExceeded));
        };
        let picked = match &same_server {
            // Failtry: the same server again, if it is still listed and its breaker allows.
            Some(entry) if router.servers().iter().any(|s| s.key() == entry.key()) => {
                match router.claim(entry.clone()) {
                    Some(p) => p,
                    None => break,
                }
            }
            Some(_) => break,
            None => match router.pick(req, &failed) {
                Pick::Server(p) => p,
                other => return Err(last.unwrap_or_else(|| no_pick(other))),
            },
        };
        let key = picked.entry.key().to_owned();
        if mode == FailMode::Failtry {
            same_server = Some(picked.entry.clone());
        }
        let result = call(key.clone(), left).await;
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
                let retry = class == ErrorClass::Retryable;
                last = Some(Failure::Call(error));
                if !retry {
                    break;
                }
                failed.push(key);
            }
        }
    }
    Err(last.unwrap_or(Failure::NoServer))
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
) -> Result<(String, T), Failure<E>>
where
    E: Classify,
    F: Fn(String, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let Ok(left) = remaining(deadline) else {
        return Err(Failure::DeadlineExceeded);
    };
    let first = match router.pick(req, &[]) {
        Pick::Server(p) => p,
        other => return Err(no_pick(other)),
    };
    let first_key = first.entry.key().to_owned();
    let mut first_fut = pin!(attempt(first, call(first_key.clone(), left)));
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
    let second_key = second.entry.key().to_owned();
    let mut second_fut = pin!(attempt(second, call(second_key, left)));
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
) -> Result<(String, T), AttemptFailure<E>> {
    let key = picked.entry.key().to_owned();
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
) -> Result<Vec<(String, Result<T, E>)>, Failure<E>>
where
    E: Classify,
    F: Fn(String, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let Ok(left) = remaining(deadline) else {
        return Err(Failure::DeadlineExceeded);
    };
    let picked = router.claim_all().map_err(no_pick)?;
    let mut running: FuturesUnordered<_> = picked
        .into_iter()
        .map(|p| {
            let key = p.entry.key().to_owned();
            let fut = call(key.clone(), left);
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
