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
use std::sync::atomic::{AtomicUsize, Ordering};

/// The longest round kept (slots of 4 bytes: 256 KiB).
pub(crate) const MAX_ROUND: u64 = 1 << 16;

/// One round of a weighted schedule over one server list.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    /// The address and length of the list it was built for: a pick on that very slice
    /// needs no lookup.
    list_addr: usize,
    len: usize,
    keys: Box<[Box<str>]>,
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
    pub(crate) fn build(servers: &[ServerEntry], weight: impl Fn(&ServerEntry) -> u64) -> Ring {
        let keys: Box<[Box<str>]> = servers.iter().map(|s| Box::from(s.key())).collect();
        let weights = servers.iter().map(weight).collect();
        Ring::with_weights(servers.as_ptr() as usize, keys, weights)
    }

    /// The same list with new weights (`weight(key)`), e.g. after a measurement.
    #[cfg(feature = "ping")]
    pub(crate) fn rebuilt(&self, weight: impl Fn(&str) -> u64) -> Ring {
        let weights = self.keys.iter().map(|k| weight(k)).collect();
        Ring::with_weights(self.list_addr, self.keys.clone(), weights)
    }

    fn with_weights(list_addr: usize, keys: Box<[Box<str>]>, mut weights: Vec<u64>) -> Ring {
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
            len: keys.len(),
            keys,
            index,
            round: round.into_boxed_slice(),
        }
    }

    /// True when the ring has no slot (no server of positive weight).
    #[cfg(any(feature = "ping", test))]
    pub(crate) fn is_empty(&self) -> bool {
        self.round.is_empty()
    }

    /// The next server of `servers`, advancing `next`. O(1) when `servers` is the list the
    /// ring was built for; otherwise (a subset: some servers are unusable) the round is
    /// walked to the next server present in `servers`. `None` when no server of the ring is.
    pub(crate) fn pick<'s>(
        &self,
        next: &AtomicUsize,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        if self.round.is_empty() {
            return None;
        }
        if servers.as_ptr() as usize == self.list_addr && servers.len() == self.len {
            let i = next.fetch_add(1, Ordering::Relaxed) % self.round.len();
            let pos = self.round[i];
            let s = &servers[pos as usize];
            // The address could be reused by another list: check the key.
            if s.key() == &*self.keys[pos as usize] {
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
            .map(|s| self.index.get(s.key()).copied())
            .collect::<Option<_>>()?;
        let start = next.fetch_add(1, Ordering::Relaxed);
        let (step, found) = (0..self.round.len()).find_map(|step| {
            let pos = self.round[start.wrapping_add(step) % self.round.len()];
            present.contains(&pos).then_some((step, pos))
        })?;
        // Skip the slots passed over, so that the next pick continues after this one.
        if step > 0 {
            next.fetch_add(step, Ordering::Relaxed);
        }
        let key = &*self.keys[found as usize];
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
        assert_eq!(ring.round.len(), 6, "weights reduced by their gcd");
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
        assert!(ring.round.len() as u64 <= MAX_ROUND + 3);
        let b = ring.round.iter().filter(|&&i| i == 1).count();
        assert_eq!(b, 1, "every server keeps at least one slot");
    }
}
