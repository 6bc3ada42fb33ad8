//! Consistent hashing by request (rendezvous hashing).

use super::{SelectRequest, Selector};
use crate::discovery::ServerEntry;

/// Sends equal requests to the same server (select mode 4): the key is a hash of
/// `/service/method/` and the encoded arguments.
///
/// rpcx buckets the key with a jump hash over the server list; this uses **rendezvous
/// (highest random weight) hashing** instead: every server gets a score `mix(key, server)`
/// and the highest score wins. It needs no ring and has the strongest stability property:
/// when a server leaves, only its keys move (spread over the others), when a server joins it
/// takes only the keys it now wins, and **a key never moves between two servers that both
/// remain**. The same holds while a server is skipped because its breaker is open. The
/// choice of server differs from Go's, which wire compatibility does not need.
#[derive(Debug, Default)]
pub struct ConsistentHash {
    _private: (),
}

impl Selector for ConsistentHash {
    fn select<'s>(
        &self,
        req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        let key = hash_request(req);
        servers
            .iter()
            .max_by_key(|s| (mix(key ^ fnv1a(FNV_OFFSET, s.key().as_bytes())), s.key()))
    }

    fn needs_args(&self) -> bool {
        true
    }
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
}
