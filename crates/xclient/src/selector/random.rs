//! Random and round-robin selection.

use super::{SelectRequest, Selector};
use crate::discovery::ServerEntry;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Picks a server uniformly at random (select mode 0). Stateless, so it spreads load well
/// across many independent clients.
#[derive(Debug, Default)]
pub struct Random {
    _private: (),
}

impl Selector for Random {
    fn select<'s>(
        &self,
        _req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        if servers.is_empty() {
            return None;
        }
        servers.get(fastrand::usize(..servers.len()))
    }
}

/// Picks the servers in turn (select mode 1).
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl Selector for RoundRobin {
    fn select<'s>(
        &self,
        _req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        if servers.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        servers.get(i % servers.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{histogram, servers};
    use super::*;

    #[test]
    fn random_is_roughly_uniform() {
        let list = servers(4);
        let h = histogram(&Random::default(), &list, 8000);
        assert_eq!(h.len(), 4);
        for (k, n) in h {
            // Expected 2000 each; 5 standard deviations is about 200.
            assert!((1700..=2300).contains(&n), "{k}: {n}");
        }
    }

    #[test]
    fn round_robin_is_exactly_even() {
        let list = servers(3);
        let rr = RoundRobin::default();
        let h = histogram(&rr, &list, 300);
        assert!(h.values().all(|n| *n == 100), "{h:?}");
        // Consecutive picks differ.
        let a = rr
            .select(&super::super::test_util::req(b""), &list)
            .unwrap();
        let b = rr
            .select(&super::super::test_util::req(b""), &list)
            .unwrap();
        assert_ne!(a.key(), b.key());
    }

    #[test]
    fn empty_list_selects_nothing() {
        let req = super::super::test_util::req(b"");
        assert!(Random::default().select(&req, &[]).is_none());
        assert!(RoundRobin::default().select(&req, &[]).is_none());
    }
}
