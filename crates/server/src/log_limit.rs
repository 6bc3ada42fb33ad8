//! Rate-limited log lines, for events a peer can cause (refused connections, failed accepts,
//! handler panics): at most one line per interval, which says how many were left out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lets one event through per interval and counts the others.
pub(crate) struct LogLimit {
    /// Milliseconds since `epoch` at which the next line may be written.
    next_ms: AtomicU64,
    suppressed: AtomicU64,
    interval: Duration,
    epoch: Instant,
}

impl LogLimit {
    pub(crate) fn new(interval: Duration) -> LogLimit {
        LogLimit {
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            interval,
            epoch: Instant::now(),
        }
    }

    /// `Some(left_out)` when a line may be written now, with the number of events left out
    /// since the last line; `None` when this one is to be left out.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = self.epoch.elapsed().as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + self.interval.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval() {
        let l = LogLimit::new(Duration::from_secs(3600));
        assert_eq!(l.allow(), Some(0));
        for _ in 0..100 {
            assert_eq!(l.allow(), None);
        }
        let l = LogLimit::new(Duration::ZERO);
        assert_eq!(l.allow(), Some(0));
    }
}
