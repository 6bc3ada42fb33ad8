//! [`Backoff`]: the retry delay registries use while their backend is unreachable.

use std::time::Duration;

/// Doubles from `first` up to `max`; [`reset`](Self::reset) after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff whose first delay is `first` and whose delays never exceed `max`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// 100 ms doubling up to `max` (the first delay is `max` itself when that is shorter).
    pub fn up_to(max: Duration) -> Backoff {
        Backoff::new(Duration::from_millis(100).min(max), max)
    }

    /// The delay to wait now; the following one is twice as long (up to the maximum).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    /// Starts again from the first delay.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(300));
        assert_eq!(b.next_delay(), Duration::from_millis(100));
        assert_eq!(b.next_delay(), Duration::from_millis(200));
        assert_eq!(b.next_delay(), Duration::from_millis(300));
        assert_eq!(b.next_delay(), Duration::from_millis(300));
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
        let mut short = Backoff::up_to(Duration::from_millis(40));
        assert_eq!(short.next_delay(), Duration::from_millis(40));
        assert_eq!(short.next_delay(), Duration::from_millis(40));
    }
}
