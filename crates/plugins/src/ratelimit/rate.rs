//! [`Rate`] and [`Limiter`]: a token bucket shared by the server and client limits.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How fast tokens come back, and how many a bucket holds (its burst).
///
/// A full bucket lets `burst` events through at once; after that one token returns every
/// `period / n`. The burst defaults to the per-period count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    quota: Quota,
}

impl Rate {
    /// `n` tokens per second, bursts of up to `n`.
    ///
    /// # Panics
    /// If `n` is 0 (a limit that lets nothing through is a deny list, not a rate).
    pub fn per_second(n: u32) -> Rate {
        Rate {
            quota: Quota::per_second(nonzero(n)),
        }
    }

    /// `n` tokens per `period`, bursts of up to `n`.
    ///
    /// # Panics
    /// If `n` is 0 or `period` is zero.
    pub fn per(n: u32, period: Duration) -> Rate {
        let n = nonzero(n);
        let each = period / n.get();
        let quota = Quota::with_period(each)
            .expect("a rate needs a non-zero period")
            .allow_burst(n);
        Rate { quota }
    }

    /// The same rate with a bucket of `burst` tokens.
    ///
    /// # Panics
    /// If `burst` is 0.
    pub fn with_burst(self, burst: u32) -> Rate {
        Rate {
            quota: self.quota.allow_burst(nonzero(burst)),
        }
    }

    /// The bucket's size.
    pub fn burst(&self) -> u32 {
        self.quota.burst_size().get()
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("a rate needs a count of at least 1")
}

/// A token bucket, cheap to clone (clones share the bucket) and safe to use from any task.
#[derive(Clone)]
pub struct Limiter {
    bucket: Arc<DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").finish_non_exhaustive()
    }
}

impl Limiter {
    /// A full bucket for `rate`.
    pub fn new(rate: Rate) -> Limiter {
        Limiter {
            bucket: Arc::new(RateLimiter::direct(rate.quota)),
        }
    }

    /// Takes a token if one is there; false when the bucket is empty.
    pub fn try_acquire(&self) -> bool {
        self.bucket.check().is_ok()
    }

    /// Waits until a token is there and takes it.
    pub async fn acquire(&self) {
        self.bucket.until_ready().await;
    }
}
