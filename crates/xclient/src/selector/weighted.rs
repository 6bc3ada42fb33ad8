//! Smooth weighted round robin (nginx's algorithm).

use super::ring::Ring;
use super::{SelectRequest, Selector};
use crate::discovery::ServerEntry;
use arc_swap::ArcSwap;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// Smooth weighted round robin over the metadata `weight` (default 1), select mode 2.
///
/// Over any Σweights consecutive picks each server is chosen exactly `weight` times, and
/// heavy servers are interleaved with light ones rather than picked in bursts. Like rpcx, the
/// schedule is precomputed into a ring on every server-list update, so a pick is O(1) and
/// lock-free (one atomic increment); the ring spaces each server's picks evenly (weights
/// 5,1,1 give `a a a b c a a`, see the `ring` module). On a list it was not built for (a
/// server is skipped: its breaker is open) the ring is walked to the next usable server; a
/// list with servers it never saw falls back to nginx's algorithm, O(n) per pick.
#[derive(Debug, Default)]
pub struct WeightedRoundRobin {
    ring: ArcSwap<Ring>,
    next: AtomicUsize,
    fallback: SmoothState,
}

impl Selector for WeightedRoundRobin {
    fn select<'s>(
        &self,
        _req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        self.ring
            .load()
            .pick(&self.next, servers)
            .or_else(|| self.fallback.pick(servers, |e| i64::from(e.weight())))
    }

    fn update_servers(&self, servers: &[ServerEntry]) {
        let ring = Ring::build_after(&self.ring.load(), servers, |s| u64::from(s.weight()));
        self.ring.store(Arc::new(ring));
        self.fallback.retain(servers);
    }
}

/// Per-server running scores of the smooth WRR, keyed by server key so that a server that
/// is skipped for a while (breaker open) keeps its place.
#[derive(Debug, Default)]
pub(crate) struct SmoothState {
    current: Mutex<HashMap<String, i64>>,
}

impl SmoothState {
    pub(crate) fn pick<'s>(
        &self,
        servers: &'s [ServerEntry],
        weight: impl Fn(&ServerEntry) -> i64,
    ) -> Option<&'s ServerEntry> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let mut total = 0i64;
        let mut best: Option<(usize, i64)> = None;
        for (i, s) in servers.iter().enumerate() {
            let w = weight(s);
            if w <= 0 {
                continue;
            }
            total += w;
            let score = current.entry(s.key().to_owned()).or_insert(0);
            *score += w;
            if best.is_none_or(|(_, b)| *score > b) {
                best = Some((i, *score));
            }
        }
        let (i, _) = best?;
        if let Some(score) = current.get_mut(servers[i].key()) {
            *score -= total;
        }
        Some(&servers[i])
    }

    pub(crate) fn retain(&self, servers: &[ServerEntry]) {
        let keep: HashSet<&str> = servers.iter().map(|s| s.key()).collect();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.retain(|k, _| keep.contains(k.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{histogram, req};
    use super::*;

    fn weighted() -> Vec<ServerEntry> {
        vec![
            ServerEntry::new("tcp@a:1", "weight=5"),
            ServerEntry::new("tcp@b:1", "weight=1"),
            ServerEntry::new("tcp@c:1", ""),
        ]
    }

    #[test]
    fn honours_weights() {
        let list = weighted();
        let h = histogram(&WeightedRoundRobin::default(), &list, 7000);
        assert_eq!(h["tcp@a:1"], 5000);
        assert_eq!(h["tcp@b:1"], 1000);
        assert_eq!(h["tcp@c:1"], 1000);
    }

    #[test]
    fn is_smooth_like_nginx() {
        let list = weighted();
        let wrr = WeightedRoundRobin::default();
        let seq: String = (0..7)
            .map(|_| {
                let k = wrr.select(&req(b""), &list).unwrap().key();
                k.as_bytes()[4] as char
            })
            .collect();
        assert_eq!(seq, "aabacaa");
    }

    #[test]
    fn the_ring_honours_weights_and_follows_updates() {
        let list = weighted();
        let wrr = WeightedRoundRobin::default();
        wrr.update_servers(&list);
        let h = histogram(&wrr, &list, 7000);
        assert_eq!(
            (h["tcp@a:1"], h["tcp@b:1"], h["tcp@c:1"]),
            (5000, 1000, 1000)
        );
        // Server a skipped (breaker open): b and c share evenly.
        let h = histogram(&wrr, &list[1..], 100);
        assert_eq!((h["tcp@b:1"], h["tcp@c:1"]), (50, 50));
        let fewer = list[1..].to_vec();
        wrr.update_servers(&fewer);
        let h = histogram(&wrr, &fewer, 100);
        assert_eq!((h["tcp@b:1"], h["tcp@c:1"]), (50, 50));
    }

    #[test]
    fn skipped_server_does_not_starve_others() {
        let list = weighted();
        let wrr = WeightedRoundRobin::default();
        // Server a is unusable for a while (breaker open): b and c share evenly.
        let h = histogram(&wrr, &list[1..], 100);
        assert_eq!((h["tcp@b:1"], h["tcp@c:1"]), (50, 50));
        wrr.update_servers(&list[1..]);
        let h = histogram(&wrr, &list, 700);
        assert!((495..=505).contains(&h["tcp@a:1"]), "{h:?}");
    }
}
