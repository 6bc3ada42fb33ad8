//! Byte budgets: a counter of bytes held against a limit, shared by whoever holds them.
//!
//! A budget is how "bounded" becomes a number of bytes: the server keeps one per connection
//! for queued reply bytes and for request bytes in flight, and server-wide ones for request
//! bytes in flight and for bytes held in partial frames. Holders add before they hold and
//! subtract when they let go; a holder that must wait for room (a reader at its budget) waits
//! on [`ByteBudget::wait_for_room`] or [`ByteBudget::acquire`], woken by releases.
//!
//! Releases are cheap when nobody waits (one atomic subtraction and one load): the wake-up
//! machinery is touched only while a waiter is registered.

use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Bytes held against a limit.
#[derive(Debug)]
pub struct ByteBudget {
    used: AtomicUsize,
    limit: usize,
    waiters: AtomicUsize,
    freed: Notify,
}

impl ByteBudget {
    /// A budget of `limit` bytes, none held.
    pub fn new(limit: usize) -> ByteBudget {
        ByteBudget {
            used: AtomicUsize::new(0),
            limit,
            waiters: AtomicUsize::new(0),
            freed: Notify::new(),
        }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// True while the bytes held reach the limit.
    pub fn is_full(&self) -> bool {
        self.used() >= self.limit
    }

    /// Holds `n` more bytes if they fit under the limit.
    pub fn try_acquire(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                u.checked_add(n).filter(|&t| t <= self.limit)
            })
            .is_ok()
    }

    /// Holds `n` more bytes whatever the limit (for a piece of work already admitted, such as
    /// the reply of a request that was read while under the limit).
    pub fn force_acquire(&self, n: usize) {
        self.used.fetch_add(n, Ordering::SeqCst);
    }

    /// Lets go of `n` bytes.
    pub fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.used.fetch_sub(n, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.freed.notify_waiters();
        }
    }

    /// Holds `n` more bytes, waiting for room. A request larger than the whole budget is
    /// admitted when nothing else is held, so one oversized piece never waits for ever.
    pub async fn acquire(&self, n: usize) {
        self.acquire_beyond(n, 0).await;
    }

    /// Holds `n` more bytes for a holder that already holds `own`, waiting for room. When
    /// `own + n` is more than the whole budget, it is admitted once this holder is the only
    /// one holding anything (so one piece larger than the budget, such as a frame larger than
    /// the partial-frame budget, completes instead of waiting on itself).
    pub async fn acquire_beyond(&self, n: usize, own: usize) {
        self.wait_until(|| {
            self.try_acquire(n)
                || own + n > self.limit
                    && self
                        .used
                        .compare_exchange(own, own + n, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
        })
        .await;
    }

    /// Waits until the bytes held are below the limit.
    pub async fn wait_for_room(&self) {
        self.wait_until(|| !self.is_full()).await;
    }

    async fn wait_until(&self, mut ready: impl FnMut() -> bool) {
        if ready() {
            return;
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let _unregister = Unregister(&self.waiters);
        loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ready() {
                return;
            }
            notified.await;
        }
    }
}

/// Decrements the waiter count however the wait ends (also when its future is dropped).
struct Unregister<'a>(&'a AtomicUsize);

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn acquire_within_limit_only() {
        let b = ByteBudget::new(100);
        assert!(b.try_acquire(60));
        assert!(!b.try_acquire(41));
        assert!(b.try_acquire(40));
        assert!(b.is_full());
        b.release(100);
        assert_eq!(b.used(), 0);
        b.force_acquire(500);
        assert_eq!(b.used(), 500);
    }

    #[tokio::test]
    async fn waiter_is_woken_by_a_release() {
        let b = Arc::new(ByteBudget::new(10));
        assert!(b.try_acquire(10));
        let b2 = b.clone();
        let waiter = tokio::spawn(async move { b2.acquire(5).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        b.release(10);
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.used(), 5);
        // Larger than the whole budget: admitted once nothing is held.
        b.release(5);
        b.acquire(50).await;
        assert_eq!(b.used(), 50);
        // A holder of 50 grows past the budget: admitted while it is the only holder.
        b.acquire_beyond(30, 50).await;
        assert_eq!(b.used(), 80);
        b.release(80);
        assert!(b.try_acquire(4));
        let b3 = b.clone();
        let other = tokio::spawn(async move { b3.acquire_beyond(20, 6).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!other.is_finished(), "someone else holds 4");
        b.release(4);
        b.force_acquire(6);
        tokio::time::timeout(Duration::from_secs(10), other)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.used(), 26);
    }
}
