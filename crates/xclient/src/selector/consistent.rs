//! Consistent hashing by request: a hash ring with virtual nodes.

use super::{SelectRequest, Selector};
use crate::discovery::ServerEntry;
use arc_swap::ArcSwap;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Points per server on the ring: the spread of keys over servers has a relative standard
/// deviation of about 1/√64 = 12%; the ring of 1000 servers has 64,000 points (750 KiB).
pub const VIRTUAL_NODES: u32 = 64;

/// Sends equal requests to the same server (select mode 4): the key is a hash of
/// `/service/method/` and the encoded arguments.
///
/// rpcx buckets the key with a jump hash over the server list; this uses a **hash ring**
/// instead, built once per server-list update: each server owns [`VIRTUAL_NODES`] points,
/// and a key goes to the owner of the first point at or after its hash (a binary search,
/// O(log n) per pick, no lock). Its stability property: when a server leaves, only its keys
/// move (spread over the others), when a server joins it takes only keys onto itself, and
/// **a key never moves between two servers that both remain**. The same holds while a
/// server is skipped because its breaker is open (the walk goes on to the next point). A
/// list the ring was not built for (no update yet) is served by rendezvous hashing, O(n),
/// with the same property. The choice of server differs from Go's, which wire
/// compatibility does not need.
#[derive(Debug, Default)]
pub struct ConsistentHash {
    ring: ArcSwap<HashRing>,
}

impl Selector for ConsistentHash {
    fn select<'s>(
        &self,
        req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        let key = hash_request(req);
        if let Some(s) = self.ring.load().pick(mix(key), servers) {
            return Some(s);
        }
        servers
            .iter()
            .max_by_key(|s| (mix(key ^ fnv1a(FNV_OFFSET, s.key().as_bytes())), s.key()))
    }

    fn update_servers(&self, servers: &[ServerEntry]) {
        let previous = self.ring.load_full();
        self.ring
            .store(Arc::new(HashRing::build(servers, &previous)));
    }

    fn needs_args(&self) -> bool {
        true
    }
}

/// The points of every server, sorted by hash.
#[derive(Debug, Default)]
struct HashRing {
    list_addr: usize,
    /// Shared with the next ring when an update keeps the same keys in the same order (a
    /// metadata change): such an update costs a comparison of the keys, not a rebuild.
    data: Arc<Points>,
}

/// The ring itself, which depends only on the keys.
#[derive(Debug, Default)]
struct Points {
    keys: Box<[Box<str>]>,
    index: HashMap<Box<str>, u32>,
    points: Box<[(u64, u32)]>,
}

impl HashRing {
    /// The ring of `servers`. The points of servers already on `previous` are carried over
    /// (they depend only on the key) and merged with the new servers' sorted points, so an
    /// update costs O(points) plus a sort of the new servers' points only; an update with
    /// the same keys in the same order shares `previous`'s points.
    fn build(servers: &[ServerEntry], previous: &HashRing) -> HashRing {
        let list_addr = servers.as_ptr() as usize;
        if super::same_keys(&previous.data.keys, servers) {
            return HashRing {
                list_addr,
                data: previous.data.clone(),
            };
        }
        let previous = &*previous.data;
        let keys: Box<[Box<str>]> = servers.iter().map(|s| Box::from(s.key())).collect();
        let index: HashMap<Box<str>, u32> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u32))
            .collect();
        // Old position -> new position, for servers that stay.
        let moved: Vec<Option<u32>> = previous
            .keys
            .iter()
            .map(|k| index.get(k).copied())
            .collect();
        let mut kept: Vec<(u64, u32)> = Vec::with_capacity(previous.points.len());
        kept.extend(
            previous
                .points
                .iter()
                .filter_map(|&(h, old)| moved[old as usize].map(|new| (h, new))),
        );
        let known: HashSet<&str> = previous.keys.iter().map(|k| &**k).collect();
        let mut added: Vec<(u64, u32)> = Vec::new();
        for (i, s) in servers.iter().enumerate() {
            if known.contains(s.key()) {
                continue;
            }
            let h = fnv1a(FNV_OFFSET, s.key().as_bytes());
            added.extend((0..VIRTUAL_NODES).map(|v| (mix(h ^ mix(u64::from(v) + 1)), i as u32)));
        }
        added.sort_unstable();
        HashRing {
            list_addr,
            data: Arc::new(Points {
                keys,
                index,
                points: merge_sorted(kept, added).into_boxed_slice(),
            }),
        }
    }

    /// The owner of `hash` among `servers`; `None` when the ring is empty or `servers` holds
    /// a server the ring does not know.
    fn pick<'s>(&self, hash: u64, servers: &'s [ServerEntry]) -> Option<&'s ServerEntry> {
        if self.data.points.is_empty() {
            return None;
        }
        let start = self.data.points.partition_point(|(h, _)| *h < hash);
        let owner = |step: usize| self.data.points[(start + step) % self.data.points.len()].1;
        if servers.as_ptr() as usize == self.list_addr && servers.len() == self.data.keys.len() {
            let pos = owner(0) as usize;
            if servers[pos].key() == &*self.data.keys[pos] {
                return Some(&servers[pos]);
            }
        }
        let present: HashSet<u32> = servers
            .iter()
            .map(|s| self.data.index.get(s.key()).copied())
            .collect::<Option<_>>()?;
        let found = (0..self.data.points.len())
            .map(owner)
            .find(|pos| present.contains(pos))?;
        let key = &*self.data.keys[found as usize];
        servers.iter().find(|s| s.key() == key)
    }
}

/// Merges two sorted point lists.
fn merge_sorted(a: Vec<(u64, u32)>, b: Vec<(u64, u32)>) -> Vec<(u64, u32)> {
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        if x <= y {
            out.extend(a.next());
        } else {
            out.extend(b.next());
        }
    }
    out.extend(a);
    out.extend(b);
    out
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The FNV-1a 64 hash of `/service_path/method/` followed by the encoded args, as rpcx
/// hashes requests for consistent hashing (rpcx formats the args with `%v`; here their
/// encoded bytes stand in).
pub fn hash_request(req: &SelectRequest<'_>) -> u64 {
    let mut h = fnv1a(FNV_OFFSET, b"/");
    h = fnv1a(h, req.service_path.as_bytes());
    h = fnv1a(h, b"/");
    h = fnv1a(h, req.method.as_bytes());
    h = fnv1a(h, b"/");
    fnv1a(h, req.args)
}

/// splitmix64's finalizer: spreads the combined hash so that scores are independent.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{req, servers};
    use super::*;
    use std::collections::HashMap;

    fn assign(list: &[ServerEntry], keys: usize) -> HashMap<usize, String> {
        let ch = ConsistentHash::default();
        (0..keys)
            .map(|k| {
                let args = format!("key-{k}");
                let s = ch.select(&req(args.as_bytes()), list).unwrap();
                (k, s.key().to_owned())
            })
            .collect()
    }

    #[test]
    fn same_request_same_server_and_spread() {
        let list = servers(5);
        let a = assign(&list, 2000);
        assert_eq!(a, assign(&list, 2000));
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for s in a.values() {
            *counts.entry(s).or_default() += 1;
        }
        assert_eq!(counts.len(), 5);
        assert!(
            counts.values().all(|n| (300..=500).contains(n)),
            "{counts:?}"
        );
    }

    /// The ring (built by `update_servers`): spread, stability, and skipping a server.
    #[test]
    fn ring_spreads_and_keeps_keys_in_place() {
        let list = servers(5);
        let ch = ConsistentHash::default();
        ch.update_servers(&list);
        let assign = |l: &[ServerEntry]| -> HashMap<usize, String> {
            (0..2000)
                .map(|k| {
                    let args = format!("key-{k}");
                    (
                        k,
                        ch.select(&req(args.as_bytes()), l)
                            .unwrap()
                            .key()
                            .to_owned(),
                    )
                })
                .collect()
        };
        let before = assign(&list);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for s in before.values() {
            *counts.entry(s).or_default() += 1;
        }
        assert_eq!(counts.len(), 5);
        assert!(
            counts.values().all(|n| (250..=550).contains(n)),
            "{counts:?}"
        );

        // Server 2 skipped (breaker open), then removed: only its keys move.
        let without: Vec<_> = list
            .iter()
            .filter(|s| s.key() != list[2].key())
            .cloned()
            .collect();
        let skipped = assign(&without);
        ch.update_servers(&without);
        let removed = assign(&without);
        assert_eq!(skipped, removed, "skipping and removing agree");
        let fresh = HashRing::build(&without, &HashRing::default());
        assert_eq!(
            ch.ring.load().data.points,
            fresh.data.points,
            "an update carries points over exactly"
        );
        let mut grown = without.clone();
        grown.push(list[2].clone());
        ch.update_servers(&grown);
        assert_eq!(assign(&grown).len(), 2000);
        assert_eq!(
            ch.ring.load().data.points.len(),
            5 * VIRTUAL_NODES as usize,
            "a returning server gets its points back"
        );
        for (k, s) in &before {
            if s != list[2].key() {
                assert_eq!(
                    &removed[k], s,
                    "key {k} moved between two remaining servers"
                );
            }
        }
    }

    #[test]
    fn stable_under_unrelated_changes() {
        let list = servers(5);
        let before = assign(&list, 2000);

        // Remove server 2: only its keys move.
        let removed: Vec<_> = list
            .iter()
            .filter(|s| s.key() != list[2].key())
            .cloned()
            .collect();
        let after = assign(&removed, 2000);
        for (k, s) in &before {
            if s != list[2].key() {
                assert_eq!(&after[k], s, "key {k} moved between two remaining servers");
            }
        }

        // Add a sixth server: keys move only onto it, about 1/6 of them.
        let mut grown = list.clone();
        grown.push(ServerEntry::new("tcp@10.0.0.99:8972", ""));
        let after = assign(&grown, 2000);
        let moved = before.iter().filter(|(k, s)| &after[*k] != *s).count();
        for (k, s) in &before {
            assert!(&after[k] == s || after[k] == "tcp@10.0.0.99:8972");
        }
        assert!((200..=500).contains(&moved), "{moved} keys moved");

        // Order of the list does not matter.
        let mut reversed = list.clone();
        reversed.reverse();
        assert_eq!(assign(&reversed, 2000), before);
    }

    #[test]
    fn an_update_with_the_same_keys_shares_the_ring() {
        let list = servers(4);
        let ch = ConsistentHash::default();
        ch.update_servers(&list);
        let before = ch.ring.load_full();
        // New metadata, same keys in the same order: the points are shared.
        let renewed: Vec<ServerEntry> = list
            .iter()
            .map(|e| ServerEntry::new(e.key(), "weight=7"))
            .collect();
        ch.update_servers(&renewed);
        let after = ch.ring.load_full();
        assert!(Arc::ptr_eq(&before.data, &after.data));
        assert_eq!(after.list_addr, renewed.as_ptr() as usize);
        assert_eq!(
            assign(&renewed, 200),
            assign(&list, 200),
            "same keys, same choices"
        );
        // Another order is another ring (positions differ).
        let mut reordered = list.clone();
        reordered.reverse();
        ch.update_servers(&reordered);
        assert!(!Arc::ptr_eq(&after.data, &ch.ring.load().data));
    }
}
