//! Load balancing: which server of the list takes a call.
//!
//! Every strategy of rpcx is here, under rpcx's numbering ([`SelectMode`]):
//!
//! | mode | picks | use it when |
//! |---|---|---|
//! | [`Random`] (0) | uniformly at random | servers are alike; the default of many deployments, no shared state |
//! | [`RoundRobin`] (1) | in turn | servers are alike and you want an even spread over short windows |
//! | [`WeightedRoundRobin`] (2) | nginx smooth WRR by metadata `weight` | servers differ in capacity and you know by how much |
//! | [`WeightedIcmp`] (3, feature `ping`) | smooth WRR by measured round-trip time | servers are spread over networks of different quality |
//! | [`ConsistentHash`] (4) | by a hash of service, method and args | a key should stick to one server (caches, sharded state) |
//! | [`Closest`] (5) | shortest great-circle distance | servers carry `latitude`/`longitude` and the client knows its own |
//! | `SelectByUser` (1000) | your [`Selector`] | none of the above fits |
//!
//! A selector is first shown the client's whole usable list (the discovery list after
//! filtering), as the shared slice itself, without a copy: that is the common case and costs
//! nothing per server. If the server it picks cannot take the call (its circuit breaker is
//! open, or this call already failed there on a Failover retry), it is asked again with a list
//! of only the servers that can. So a strategy never has to know about health; it only has to
//! choose among what it is given. Work that depends only on the list belongs in
//! [`Selector::update_servers`], which runs once per discovery update: the built-in selectors
//! precompute their rings, hashes and positions there, so that a pick costs O(1) (O(log n)
//! for consistent hashing) whatever the number of servers.

mod closest;
mod consistent;
#[cfg(feature = "ping")]
mod ping;
mod random;
mod ring;
mod weighted;

pub use closest::{Closest, EARTH_RADIUS_METERS, haversine_meters};
pub use consistent::{ConsistentHash, VIRTUAL_NODES, hash_request};
#[cfg(feature = "ping")]
#[cfg_attr(docsrs, doc(cfg(feature = "ping")))]
pub use ping::{WeightedIcmp, weight_from_rtt};
pub use random::{Random, RoundRobin};
pub use weighted::WeightedRoundRobin;

use crate::discovery::ServerEntry;
use std::sync::Arc;

/// What a selector may look at to choose: the call being made.
#[derive(Debug, Clone, Copy)]
pub struct SelectRequest<'a> {
    /// The service path (`Arith`).
    pub service_path: &'a str,
    /// The method (`Mul`).
    pub method: &'a str,
    /// The encoded arguments when the selector asked for them
    /// ([`Selector::needs_args`]), otherwise empty.
    pub args: &'a [u8],
}

/// A load-balancing strategy (rpcx's `Selector`; implement it for `SelectByUser`).
pub trait Selector: Send + Sync + 'static {
    /// Chooses one of `servers` for `req`, or `None` when none fits. `servers` is never
    /// empty: first the whole filtered list (the slice last given to
    /// [`update_servers`](Self::update_servers)), then, if the choice cannot be used right
    /// now, only the usable servers. Called on every call: keep it O(1) or O(log n).
    fn select<'s>(
        &self,
        req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry>;

    /// Called with the full usable list whenever discovery changes it (rpcx's
    /// `UpdateServer`), so a selector can precompute or drop state. Default: nothing.
    fn update_servers(&self, servers: &[ServerEntry]) {
        let _ = servers;
    }

    /// True when [`select`](Self::select) reads [`SelectRequest::args`]; the client then
    /// encodes the arguments before selecting. Default: false.
    fn needs_args(&self) -> bool {
        false
    }
}

/// rpcx's `SelectMode`, with rpcx's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SelectMode {
    /// Uniformly random (0).
    #[default]
    Random,
    /// In turn (1).
    RoundRobin,
    /// Smooth weighted round robin by metadata `weight` (2).
    WeightedRoundRobin,
    /// Weighted by measured network quality (3).
    WeightedIcmp,
    /// By a hash of the request (4).
    ConsistentHash,
    /// Nearest by latitude and longitude (5).
    Closest,
    /// A user-provided [`Selector`] (1000).
    SelectByUser,
}

impl SelectMode {
    /// The rpcx number of this mode.
    pub fn as_u32(self) -> u32 {
        match self {
            SelectMode::Random => 0,
            SelectMode::RoundRobin => 1,
            SelectMode::WeightedRoundRobin => 2,
            SelectMode::WeightedIcmp => 3,
            SelectMode::ConsistentHash => 4,
            SelectMode::Closest => 5,
            SelectMode::SelectByUser => 1000,
        }
    }

    /// The mode with rpcx number `n`.
    pub fn from_u32(n: u32) -> Option<SelectMode> {
        Some(match n {
            0 => SelectMode::Random,
            1 => SelectMode::RoundRobin,
            2 => SelectMode::WeightedRoundRobin,
            3 => SelectMode::WeightedIcmp,
            4 => SelectMode::ConsistentHash,
            5 => SelectMode::Closest,
            1000 => SelectMode::SelectByUser,
            _ => return None,
        })
    }

    /// A fresh selector for this mode. `position` is the client's `(latitude, longitude)`
    /// for [`Closest`]. Returns `None` for `SelectByUser` (the user supplies it) and for
    /// `WeightedIcmp` without the `ping` feature.
    pub fn build(self, position: Option<(f64, f64)>) -> Option<Arc<dyn Selector>> {
        Some(match self {
            SelectMode::Random => Arc::new(Random::default()),
            SelectMode::RoundRobin => Arc::new(RoundRobin::default()),
            SelectMode::WeightedRoundRobin => Arc::new(WeightedRoundRobin::default()),
            #[cfg(feature = "ping")]
            SelectMode::WeightedIcmp => Arc::new(WeightedIcmp::default()),
            #[cfg(not(feature = "ping"))]
            SelectMode::WeightedIcmp => return None,
            SelectMode::ConsistentHash => Arc::new(ConsistentHash::default()),
            SelectMode::Closest => {
                let (lat, lon) = position.unwrap_or((0.0, 0.0));
                Arc::new(Closest::new(lat, lon))
            }
            SelectMode::SelectByUser => return None,
        })
    }
}

/// True when `servers` has exactly `keys`, in the same order: a selector may then keep what
/// it precomputed for `keys` (it depends only on the keys, not on the rest of the metadata).
fn same_keys(keys: &[Box<str>], servers: &[ServerEntry]) -> bool {
    keys.len() == servers.len() && keys.iter().zip(servers).all(|(k, s)| **k == *s.key())
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    pub(crate) fn servers(n: usize) -> Vec<ServerEntry> {
        (0..n)
            .map(|i| ServerEntry::new(format!("tcp@10.0.0.{i}:8972"), ""))
            .collect()
    }

    pub(crate) fn req(args: &[u8]) -> SelectRequest<'_> {
        SelectRequest {
            service_path: "Arith",
            method: "Mul",
            args,
        }
    }

    /// Counts how often each server is picked in `n` selections.
    pub(crate) fn histogram(
        sel: &dyn Selector,
        servers: &[ServerEntry],
        n: usize,
    ) -> std::collections::HashMap<String, usize> {
        let mut h = std::collections::HashMap::new();
        for _ in 0..n {
            let s = sel.select(&req(b""), servers).unwrap();
            *h.entry(s.key().to_owned()).or_insert(0) += 1;
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_rpcx_numbers() {
        for n in [0, 1, 2, 3, 4, 5, 1000] {
            assert_eq!(SelectMode::from_u32(n).unwrap().as_u32(), n);
        }
        assert_eq!(SelectMode::from_u32(6), None);
        assert!(SelectMode::SelectByUser.build(None).is_none());
        assert!(SelectMode::Closest.build(Some((1.0, 2.0))).is_some());
    }
}
