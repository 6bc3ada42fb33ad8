//! A precomputed weighted schedule, so that a weighted pick is O(1) and takes no lock.
//!
//! Built once per discovery update (or new measurement): one round of Σweights slots in
//! which server `i` appears `weight(i)` times, its appearances evenly spaced. The order is
//! earliest-deadline-first on the ideal positions `(k + ½) / weight` of each server's
//! `k`-th pick (Sainte-Laguë order), computed with a heap in O(Σw log n); nginx's smooth
//! round robin, which the previous implementation ran on every pick, costs O(n) per pick and
//! O(n Σw) to precompute. Weights are divided by their greatest common divisor; a round
//! longer than [`MAX_ROUND`] slots is scaled down proportionally (each weight at least 1).

use crate::discovery::ServerEntry;
use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The longest round kept (slots of 4 bytes: 256 KiB).
pub(crate) const MAX_ROUND: u64 = 1 << 16;

/// One round of a weighted schedule over one server list.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    /// The address of the list it was built for (whose length is that of `data.keys`): a
    /// pick on that very slice needs no lookup.
    list_addr: usize,
    /// Shared with the next ring when an update keeps the keys and weights (a metadata
    /// change, a re-registration): such an update costs a comparison, not a rebuild.
    data: Arc<Schedule>,
}

/// The schedule itself, which depends only on the keys and weights.
#[derive(Debug, Default)]
struct Schedule {
    keys: Box<[Box<str>]>,
    /// The weights as given (before the gcd and scaling), to recognise an unchanged list.
    weights: Box<[u64]>,
    index: HashMap<Box<str>, u32>,
    round: Box<[u32]>,
}

/// The `k`-th pick of server `index`, due at `(2k + 1) / (2 weight)`.
#[derive(PartialEq, Eq)]
struct Due {
    k2p1: u64,
    weight2: u64,
    index: u32,
}

impl Ord for Due {
    fn cmp(&self, other: &Due) -> CmpOrdering {
        // a/b < c/d  <=>  a*d < c*b (all positive).
        (u128::from(self.k2p1) * u128::from(other.weight2))
            .cmp(&(u128::from(other.k2p1) * u128::from(self.weight2)))
            .then(self.index.cmp(&other.index))
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Ring {
    /// A ring over `servers` with `weight(server)`; servers of weight 0 are left out.
    #[cfg(test)]
    pub(crate) fn build(servers: &[ServerEntry], weight: impl Fn(&ServerEntry) -> u64) -> Ring {
        Ring::build_after(&Ring::default(), servers, weight)
    }

    /// A ring over `servers` with `weight(server)` (servers of weight 0 are left out),
    /// sharing `previous`'s schedule when `servers` has the same
    /// keys in the same order with the same weights: linear comparisons, no allocation per
    /// server.
    pub(crate) fn build_after(
        previous: &Ring,
        servers: &[ServerEntry],
        weight: impl Fn(&ServerEntry) -> u64,
    ) -> Ring {
        let weights: Vec<u64> = servers.iter().map(weight).collect();
        let old = &previous.data;
        if *old.weights == *weights && super::same_keys(&old.keys, servers) {
            return Ring {
                list_addr: servers.as_ptr() as usize,
                data: old.clone(),
            };
        }
        let keys: Box<[Box<str>]> = servers.iter().map(|s| Box::from(s.key())).collect();
        Ring::with_weights(servers.as_ptr() as usize, keys, weights)
    }

    /// The same list with new weights (`weight(key)`), e.g. after a measurement.
    #[cfg(feature = "ping")]
    pub(crate) fn rebuilt(&self, weight: impl Fn(&str) -> u64) -> Ring {
        let weights = self.data.keys.iter().map(|k| weight(k)).collect();
        Ring::with_weights(self.list_addr, self.data.keys.clone(), weights)
    }

    fn with_weights(list_addr: usize, keys: Box<[Box<str>]>, given: Vec<u64>) -> Ring {
        let mut weights = given.clone();
        let g = weights.iter().fold(0, |g, &w| gcd(g, w));
        if g > 1 {
            weights.iter_mut().for_each(|w| *w /= g);
        }
        let total: u64 = weights.iter().sum();
        if total > MAX_ROUND {
            for w in weights.iter_mut().filter(|w| **w > 0) {
                *w = (*w * MAX_ROUND / total).max(1);
            }
        }
        let total: u64 = weights.iter().sum();
        let mut heap: BinaryHeap<Reverse<Due>> = weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0)
            .map(|(i, &w)| {
                Reverse(Due {
                    k2p1: 1,
                    weight2: 2 * w,
                    index: i as u32,
                })
            })
            .collect();
        let mut round = Vec::with_capacity(total as usize);
        while let Some(Reverse(mut due)) = heap.pop() {
            round.push(due.index);
            if due.k2p1 + 2 <= due.weight2 {
                due.k2p1 += 2;
                heap.push(Reverse(due));
            }
        }
        let index = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u32))
            .collect();
        Ring {
            list_addr,
            data: Arc::new(Schedule {
                keys,
                weights: given.into_boxed_slice(),
                index,
                round: round.into_boxed_slice(),
            }),
        }
    }

    /// True when the ring has no slot (no server of positive weight).
    #[cfg(any(feature = "ping", test))]
    pub(crate) fn is_empty(&self) -> bool {
        self.data.round.is_empty()
    }

    /// The next server of `servers`, advancing `next`. O(1) when `servers` is the list the
    /// ring was built for; otherwise (a subset: some servers are unusable) the round is
    /// walked to the next server present in `servers`. `None` when no server of the ring is.
    pub(crate) fn pick<'s>(
        &self,
        next: &AtomicUsize,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        if self.data.round.is_empty() {
            return None;
        }
        if servers.as_ptr() as usize == self.list_addr && servers.len() == self.data.keys.len() {
            let i = next.fetch_add(1, Ordering::Relaxed) % self.data.round.len();
            let pos = self.data.round[i];
            let s = &servers[pos as usize];
            // The address could be reused by another list: check the key.
            if s.key() == &*self.data.keys[pos as usize] {
                return Some(s);
            }
        }
        self.pick_in_subset(next, servers)
    }

    /// The walk for a list other than the ring's: `None` when it holds a server the ring
    /// does not know (the caller then falls back), else the next present server.
    fn pick_in_subset<'s>(
        &self,
        next: &AtomicUsize,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        let present: HashSet<u32> = servers
            .iter()
            .map(|s| self.data.index.get(s.key()).copied())
            .collect::<Option<_>>()?;
        let start = next.fetch_add(1, Ordering::Relaxed);
        let (step, found) = (0..self.data.round.len()).find_map(|step| {
            let pos = self.data.round[start.wrapping_add(step) % self.data.round.len()];
            present.contains(&pos).then_some((step, pos))
        })?;
        // Skip the slots passed over, so that the next pick continues after this one.
        if step > 0 {
            next.fetch_add(step, Ordering::Relaxed);
        }
        let key = &*self.data.keys[found as usize];
        servers.iter().find(|s| s.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(weights: &[u64]) -> Vec<ServerEntry> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                ServerEntry::new(
                    format!("tcp@{}:1", (b'a' + i as u8) as char),
                    format!("weight={w}"),
                )
            })
            .collect()
    }

    fn sequence(ring: &Ring, servers: &[ServerEntry], n: usize) -> String {
        let next = AtomicUsize::new(0);
        (0..n)
            .map(|_| ring.pick(&next, servers).unwrap().key().as_bytes()[4] as char)
            .collect()
    }

    #[test]
    fn spreads_each_server_evenly_over_a_round() {
        let servers = list(&[5, 1, 1]);
        let ring = Ring::build(&servers, |s| u64::from(s.weight()));
        assert_eq!(sequence(&ring, &servers, 14), "aaabcaaaaabcaa");
        let servers = list(&[2, 4, 6]);
        let ring = Ring::build(&servers, |s| u64::from(s.weight()));
        assert_eq!(ring.data.round.len(), 6, "weights reduced by their gcd");
        assert_eq!(sequence(&ring, &servers, 6), "cbacbc");
    }

    #[test]
    fn a_subset_walks_the_round_and_zero_weights_are_left_out() {
        let servers = list(&[5, 1, 1]);
        let ring = Ring::build(&servers, |s| u64::from(s.weight()));
        let subset = servers[1..].to_vec();
        let seq = sequence(&ring, &subset, 100);
        assert_eq!(seq.matches('b').count(), 50, "{seq}");
        let ring = Ring::build(&servers, |s| if s.key() == "tcp@a:1" { 0 } else { 1 });
        assert_eq!(sequence(&ring, &servers, 4), "bcbc");
        let none = Ring::build(&servers, |_| 0);
        assert!(none.is_empty() && none.pick(&AtomicUsize::new(0), &servers).is_none());
    }

    #[test]
    fn long_rounds_are_scaled_down() {
        let servers = list(&[1_000_000, 1, 999_999]);
        let ring = Ring::build(&servers, |s| u64::from(s.weight()));
        assert!(ring.data.round.len() as u64 <= MAX_ROUND + 3);
        let b = ring.data.round.iter().filter(|&&i| i == 1).count();
        assert_eq!(b, 1, "every server keeps at least one slot");
    }

    #[test]
    fn an_update_with_the_same_keys_and_weights_shares_the_schedule() {
        let servers = list(&[5, 1, 1]);
        let ring = Ring::build(&servers, |s| u64::from(s.weight()));
        let renewed: Vec<ServerEntry> = servers
            .iter()
            .map(|e| ServerEntry::new(e.key(), format!("{}&state=active", e.raw_metadata())))
            .collect();
        let next = Ring::build_after(&ring, &renewed, |s| u64::from(s.weight()));
        assert!(Arc::ptr_eq(&ring.data, &next.data));
        assert_eq!(
            sequence(&next, &renewed, 7),
            "aaabcaa",
            "O(1) picks on the new list"
        );
        let reweighted = list(&[1, 1, 5]);
        let other = Ring::build_after(&next, &reweighted, |s| u64::from(s.weight()));
        assert!(!Arc::ptr_eq(&next.data, &other.data));
        assert_eq!(sequence(&other, &reweighted, 7), "ccabccc");
    }
}
