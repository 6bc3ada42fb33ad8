//! Per-server circuit breakers.
//!
//! A server that keeps failing costs every caller a timeout or a connect error before the fail
//! mode moves on. A breaker notices the pattern and takes the server out of selection for a
//! while ("open"); after `open_for` it lets exactly one call through ("half-open"); if that
//! probe succeeds the server is back ("closed"), if it fails the breaker opens again.
//!
//! Two policies, as [`BreakerPolicy`]:
//!
//! * [`ConsecutiveFailures`](BreakerPolicy::ConsecutiveFailures) (rpcx's
//!   `ConsecCircuitBreaker`): opens after `threshold` failures in a row. Simple and quick to
//!   react; a server that fails half the time never trips it.
//! * [`ErrorRate`](BreakerPolicy::ErrorRate): opens when, within a fixed window, at least
//!   `min_calls` calls were made and the failed fraction reached `max_error_rate`. Catches
//!   flaky servers; needs traffic to decide.
//! * [`ConsecutiveTimeouts`](BreakerPolicy::ConsecutiveTimeouts), **the default**
//!   ([`BreakerPolicy::DEFAULT`]: 3 timeouts in a row open it for 1 s): counts only attempts
//!   that got no answer in time. It exists for the *hung* server: one that accepts connections
//!   (the kernel does that for a stopped process) but never answers, so that every call sent
//!   there waits out its whole time budget. A dead server (connect refused, connection reset)
//!   is already handled without it, by the reconnect backoff, and a server restarting gets
//!   traffic back as soon as it listens; so this policy ignores connection failures and
//!   stays out of the way of restarts and outages.
//!
//! What counts as a failure is decided by the XClient: connect errors, broken connections and
//! timeouts are failures (timeouts only, for `ConsecutiveTimeouts`); an error reply from the
//! service is a *success* (the server is healthy, the request was not), and a caller's
//! cancellation counts as nothing. Unlike Go rpcx, whose breaker only ever sees failed dials,
//! successes are recorded too, so an error-rate breaker has a real denominator.
//!
//! A closed breaker costs a call two atomic loads: the lock is taken only to record a failure
//! or when the breaker is not closed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BreakerPolicy {
    /// Open after `threshold` consecutive failures, for `open_for`.
    ConsecutiveFailures {
        /// Failures in a row that open the breaker (at least 1).
        threshold: u32,
        /// How long the breaker stays open before a half-open probe.
        open_for: Duration,
    },
    /// Open when the error rate in a window is too high, for `open_for`.
    ErrorRate {
        /// The length of a counting window; counts restart when it elapses.
        window: Duration,
        /// Calls needed in the window before the rate is judged.
        min_calls: u32,
        /// Failed fraction (0.0 to 1.0) at which the breaker opens.
        max_error_rate: f64,
        /// How long the breaker stays open before a half-open probe.
        open_for: Duration,
    },
    /// Open after `threshold` consecutive timeouts, for `open_for`; connection failures are
    /// not counted (see the module docs). The XClient's default.
    ConsecutiveTimeouts {
        /// Timeouts in a row that open the breaker (at least 1).
        threshold: u32,
        /// How long the breaker stays open before a half-open probe.
        open_for: Duration,
    },
}

impl BreakerPolicy {
    /// The XClient's default: 3 timeouts in a row open the breaker for 1 s.
    pub const DEFAULT: BreakerPolicy = BreakerPolicy::ConsecutiveTimeouts {
        threshold: 3,
        open_for: Duration::from_secs(1),
    };

    /// Opens after `threshold` timeouts in a row, for `open_for`; ignores connection failures.
    pub fn consecutive_timeouts(threshold: u32, open_for: Duration) -> BreakerPolicy {
        BreakerPolicy::ConsecutiveTimeouts {
            threshold: threshold.max(1),
            open_for,
        }
    }

    /// True when connection failures (refused, reset, closed) count as failures.
    pub fn counts_connection_failures(&self) -> bool {
        !matches!(self, BreakerPolicy::ConsecutiveTimeouts { .. })
    }

    /// Opens after `threshold` failures in a row, for `open_for`.
    pub fn consecutive(threshold: u32, open_for: Duration) -> BreakerPolicy {
        BreakerPolicy::ConsecutiveFailures {
            threshold: threshold.max(1),
            open_for,
        }
    }

    /// Opens when at least `min_calls` calls in `window` failed at a rate of at least
    /// `max_error_rate`, for `open_for`.
    pub fn error_rate(
        window: Duration,
        min_calls: u32,
        max_error_rate: f64,
        open_for: Duration,
    ) -> BreakerPolicy {
        BreakerPolicy::ErrorRate {
            window,
            min_calls: min_calls.max(1),
            max_error_rate: max_error_rate.clamp(0.0, 1.0),
            open_for,
        }
    }

    fn open_for(&self) -> Duration {
        match *self {
            BreakerPolicy::ConsecutiveFailures { open_for, .. }
            | BreakerPolicy::ErrorRate { open_for, .. }
            | BreakerPolicy::ConsecutiveTimeouts { open_for, .. } => open_for,
        }
    }
}

/// The state of a breaker, for observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are refused until the open period ends.
    Open,
    /// One probe call is allowed; its outcome decides.
    HalfOpen,
}

/// One server's breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    /// True while the phase is `Closed` (written under the lock): the lock-free fast path.
    closed: AtomicBool,
    /// True while a consecutive count is running (written under the lock), so that a success
    /// on a closed breaker with nothing to reset takes no lock.
    counting: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    consecutive: u32,
    window_start: Instant,
    calls: u32,
    failures: u32,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl CircuitBreaker {
    /// A closed breaker with `policy`.
    pub fn new(policy: BreakerPolicy) -> CircuitBreaker {
        CircuitBreaker {
            policy,
            closed: AtomicBool::new(true),
            counting: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                phase: Phase::Closed,
                consecutive: 0,
                window_start: Instant::now(),
                calls: 0,
                failures: 0,
            }),
        }
    }

    /// The policy of this breaker.
    pub fn policy(&self) -> BreakerPolicy {
        self.policy
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current state (an open breaker whose period ended reports `HalfOpen`).
    pub fn state(&self) -> BreakerState {
        match self.lock().phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { until } if Instant::now() < until => BreakerState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// True when a call may be sent now: closed, or ready for a half-open probe. Does not
    /// change the state; selection uses it to build the candidate list.
    pub fn is_ready(&self) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return true;
        }
        match self.lock().phase {
            Phase::Closed => true,
            Phase::Open { until } => Instant::now() >= until,
            Phase::HalfOpen { probing } => !probing,
        }
    }

    /// Claims the right to send one call. In the half-open state only one claim succeeds
    /// until its outcome is recorded.
    pub fn try_acquire(&self) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return true;
        }
        let mut inner = self.lock();
        match inner.phase {
            Phase::Closed => true,
            Phase::Open { until } if Instant::now() < until => false,
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                inner.phase = Phase::HalfOpen { probing: true };
                true
            }
            Phase::HalfOpen { probing: true } => false,
        }
    }

    /// Records a call that reached a healthy server.
    pub fn record_success(&self) {
        let windowed = matches!(self.policy, BreakerPolicy::ErrorRate { .. });
        if !windowed
            && self.closed.load(Ordering::Acquire)
            && !self.counting.load(Ordering::Acquire)
        {
            return;
        }
        let mut inner = self.lock();
        inner.consecutive = 0;
        self.counting.store(false, Ordering::Release);
        match inner.phase {
            Phase::HalfOpen { .. } => {
                inner.phase = Phase::Closed;
                self.closed.store(true, Ordering::Release);
                self.reset_window(&mut inner);
            }
            Phase::Closed => {
                self.roll_window(&mut inner);
                inner.calls += 1;
            }
            Phase::Open { .. } => {}
        }
    }

    /// Records a failed call (transport error, timeout). May open the breaker. The XClient
    /// records only timeouts here under [`BreakerPolicy::ConsecutiveTimeouts`].
    pub fn record_failure(&self) {
        let mut inner = self.lock();
        match inner.phase {
            Phase::HalfOpen { .. } => self.open(&mut inner),
            Phase::Open { .. } => {}
            Phase::Closed => {
                inner.consecutive += 1;
                self.counting.store(true, Ordering::Release);
                self.roll_window(&mut inner);
                inner.calls += 1;
                inner.failures += 1;
                let trip = match self.policy {
                    BreakerPolicy::ConsecutiveFailures { threshold, .. }
                    | BreakerPolicy::ConsecutiveTimeouts { threshold, .. } => {
                        inner.consecutive >= threshold
                    }
                    BreakerPolicy::ErrorRate {
                        min_calls,
                        max_error_rate,
                        ..
                    } => {
                        inner.calls >= min_calls
                            && f64::from(inner.failures) >= max_error_rate * f64::from(inner.calls)
                    }
                };
                if trip {
                    self.open(&mut inner);
                }
            }
        }
    }

    /// Gives back a half-open probe whose outcome says nothing about the server (the caller
    /// cancelled). No effect in other states.
    pub fn release(&self) {
        let mut inner = self.lock();
        if let Phase::HalfOpen { probing: true } = inner.phase {
            inner.phase = Phase::HalfOpen { probing: false };
        }
    }

    fn open(&self, inner: &mut Inner) {
        inner.phase = Phase::Open {
            until: Instant::now() + self.policy.open_for(),
        };
        self.closed.store(false, Ordering::Release);
        inner.consecutive = 0;
        self.counting.store(false, Ordering::Release);
        self.reset_window(inner);
        tracing::debug!("circuit breaker opened");
    }

    fn roll_window(&self, inner: &mut Inner) {
        if let BreakerPolicy::ErrorRate { window, .. } = self.policy {
            if inner.window_start.elapsed() >= window {
                self.reset_window(inner);
            }
        }
    }

    fn reset_window(&self, inner: &mut Inner) {
        inner.window_start = Instant::now();
        inner.calls = 0;
        inner.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Duration = Duration::from_secs(5);

    #[tokio::test(start_paused = true)]
    async fn consecutive_failures_open_then_half_open_probe() {
        let b = CircuitBreaker::new(BreakerPolicy::consecutive(3, OPEN));
        b.record_failure();
        b.record_failure();
        b.record_success(); // resets the run
        b.record_failure();
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.is_ready() && !b.try_acquire());

        tokio::time::advance(OPEN).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.is_ready());
        assert!(b.try_acquire(), "one probe");
        assert!(
            !b.is_ready() && !b.try_acquire(),
            "only one probe at a time"
        );
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open, "failed probe reopens");

        tokio::time::advance(OPEN).await;
        assert!(b.try_acquire());
        b.release();
        assert!(b.try_acquire(), "a released probe can be retried");
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.try_acquire() && b.try_acquire());
    }

    #[tokio::test(start_paused = true)]
    async fn error_rate_needs_volume_and_rate() {
        let window = Duration::from_secs(10);
        let b = CircuitBreaker::new(BreakerPolicy::error_rate(window, 10, 0.5, OPEN));
        // 4 failures of 5: high rate, too few calls.
        for _ in 0..4 {
            b.record_failure();
        }
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        // A new window forgets them; 10 calls at 40% stay closed.
        tokio::time::advance(window).await;
        for i in 0..10 {
            if i % 5 < 2 {
                b.record_failure();
            } else {
                b.record_success();
            }
        }
        assert_eq!(b.state(), BreakerState::Closed);
        // Two more failures make 6 of 12: the rate reaches 50% and the breaker opens.
        for _ in 0..2 {
            b.record_failure();
        }
        assert_eq!(b.state(), BreakerState::Open);
    }
}
