//! Byte budgets: a count of bytes held against a limit, with waiting for room.
//!
//! A [`Charge`] holds bytes of a budget and gives them back when dropped, so every way a call
//! can end (reply, error, timeout, a dropped future) returns what it held.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Bytes held against `max`.
///
/// Admission rule: a charge fits when it keeps the total within `max`, or when nothing is held
/// at all, so one item larger than the whole budget still passes alone (the bound is then
/// `max` plus one item, never unbounded, and a large call cannot wait for ever).
#[derive(Debug)]
pub(crate) struct ByteBudget {
    used: AtomicUsize,
    max: usize,
    waiting: AtomicUsize,
    room: Notify,
}

impl ByteBudget {
    pub(crate) fn new(max: usize) -> Arc<ByteBudget> {
        Arc::new(ByteBudget {
            used: AtomicUsize::new(0),
            max: max.max(1),
            waiting: AtomicUsize::new(0),
            room: Notify::new(),
        })
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    /// True while more than the budget is held.
    pub(crate) fn is_over(&self) -> bool {
        self.used() > self.max
    }

    /// Takes `bytes` if they fit.
    pub(crate) fn try_charge(self: &Arc<Self>, bytes: usize) -> Option<Charge> {
        let mut used = self.used.load(Ordering::SeqCst);
        loop {
            if used != 0 && used.saturating_add(bytes) > self.max {
                return None;
            }
            match self.used.compare_exchange_weak(
                used,
                used + bytes,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Some(self.charge_taken(bytes)),
                Err(now) => used = now,
            }
        }
    }

    /// Takes `bytes`, waiting until they fit.
    pub(crate) async fn charge(self: &Arc<Self>, bytes: usize) -> Charge {
        if let Some(c) = self.try_charge(bytes) {
            return c;
        }
        let _waiting = WaitingGuard::new(self);
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            // Registered before the check, so a release in between is not missed.
            room.as_mut().enable();
            if let Some(c) = self.try_charge(bytes) {
                return c;
            }
            room.await;
        }
    }

    /// Takes `bytes` whether they fit or not (bytes that already exist, such as a reply that
    /// was read); whoever produces more waits with [`ByteBudget::room`] first.
    pub(crate) fn charge_anyway(self: &Arc<Self>, bytes: usize) -> Charge {
        self.used.fetch_add(bytes, Ordering::SeqCst);
        self.charge_taken(bytes)
    }

    /// Waits until no more than the budget is held.
    pub(crate) async fn room(&self) {
        if !self.is_over() {
            return;
        }
        let _waiting = WaitingGuard::new(self);
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if !self.is_over() {
                return;
            }
            room.await;
        }
    }

    fn charge_taken(self: &Arc<Self>, bytes: usize) -> Charge {
        Charge {
            budget: Some(self.clone()),
            bytes,
        }
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::SeqCst);
        // Waiters register before they check, so one seen as absent here will see the room.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.room.notify_waiters();
        }
    }
}

struct WaitingGuard<'a>(&'a ByteBudget);

impl<'a> WaitingGuard<'a> {
    fn new(b: &'a ByteBudget) -> WaitingGuard<'a> {
        b.waiting.fetch_add(1, Ordering::SeqCst);
        WaitingGuard(b)
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Bytes held in a [`ByteBudget`] until dropped.
#[derive(Debug, Default)]
pub(crate) struct Charge {
    budget: Option<Arc<ByteBudget>>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        if let Some(b) = self.budget.take() {
            b.release(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waits_for_room_and_lets_a_large_item_pass_alone() {
        let b = ByteBudget::new(100);
        let big = b.try_charge(1000).expect("alone, anything fits");
        assert!(b.try_charge(1).is_none());
        assert!(b.is_over());
        drop(big);
        let a = b.charge(60).await;
        assert!(b.try_charge(50).is_none());
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.charge(50).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(a);
        let c = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken when room was made")
            .unwrap();
        assert_eq!(b.used(), 50);
        drop(c);
        assert_eq!(b.used(), 0);
    }

    #[tokio::test]
    async fn room_waits_while_over() {
        let b = ByteBudget::new(10);
        let r = b.charge_anyway(30);
        let w = {
            let b = b.clone();
            tokio::spawn(async move { b.room().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!w.is_finished());
        drop(r);
        tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .unwrap()
            .unwrap();
    }
}
