//! Network-quality weighting (rpcx's WeightedICMP), measured with TCP connects.

use super::ring::Ring;
use super::weighted::SmoothState;
use super::{SelectRequest, Selector};
use crate::discovery::ServerEntry;
use arc_swap::ArcSwap;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// rpcx's weight for a round-trip time: 191 up to 10 ms, `201 - rtt_ms` up to 200 ms, 1 below
/// one second, and 0 for slower or unreachable servers (`None`).
pub fn weight_from_rtt(rtt: Option<Duration>) -> u32 {
    let Some(rtt) = rtt else { return 0 };
    let ms = rtt.as_millis();
    if ms <= 10 {
        191
    } else if ms <= 200 {
        201 - ms as u32
    } else if ms < 1000 {
        1
    } else {
        0
    }
}

/// Smooth weighted round robin with weights from measured round-trip time (select mode 3,
/// feature `ping`).
///
/// **How it measures.** rpcx sends ICMP echoes, which need raw sockets and so root or
/// `CAP_NET_RAW`. This selector instead times a **TCP connect** to each server's own address
/// (the SYN / SYN-ACK round trip, plus the accept queue), three times with a 3 s timeout, and
/// uses the mean of the successful attempts. That measures the path to the actual service port,
/// which is what matters for calls, and works unprivileged; it is not an ICMP RTT. Servers that
/// are not `tcp`/`tcp4`/`tcp6` are not measured and get weight 1.
///
/// Measurement runs in the background whenever discovery reports a new server (and on
/// [`refresh`](Self::refresh)); until a server is measured its weight is 1. Servers whose
/// weight is 0 (unreachable, or slower than a second) are skipped unless all are 0.
///
/// Picks use a ring precomputed on every list update and measurement, as
/// [`WeightedRoundRobin`](super::WeightedRoundRobin) does: O(1), no lock.
#[derive(Debug, Clone)]
pub struct WeightedIcmp {
    weights: Arc<Mutex<HashMap<String, u32>>>,
    /// Servers whose measurement is running, so that updates meanwhile do not start another.
    measuring: Arc<Mutex<HashSet<String>>>,
    ring: Arc<ArcSwap<Ring>>,
    next: Arc<AtomicUsize>,
    state: Arc<SmoothState>,
    attempts: u32,
    timeout: Duration,
}

impl Default for WeightedIcmp {
    fn default() -> WeightedIcmp {
        WeightedIcmp {
            weights: Arc::default(),
            measuring: Arc::default(),
            ring: Arc::default(),
            next: Arc::default(),
            state: Arc::default(),
            attempts: 3,
            timeout: Duration::from_secs(3),
        }
    }
}

impl WeightedIcmp {
    /// The weight currently used for `key`, if it was measured.
    pub fn weight_of(&self, key: &str) -> Option<u32> {
        self.weights
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    /// Measures every server of `servers` now and stores their weights.
    pub async fn refresh(&self, servers: &[ServerEntry]) {
        let measured = futures_util::future::join_all(
            servers
                .iter()
                .map(|s| async move { (s.key().to_owned(), self.measure(s.key()).await) }),
        )
        .await;
        let mut weights = self.weights.lock().unwrap_or_else(|p| p.into_inner());
        for (key, w) in measured {
            weights.insert(key, w);
        }
        self.ring
            .rcu(|ring| ring_weights(ring.rebuilt(|k| weight_of(&weights, k))));
    }

    async fn measure(&self, key: &str) -> u32 {
        let Some(("tcp" | "tcp4" | "tcp6", addr)) = key.split_once('@') else {
            return 1;
        };
        let mut total = Duration::ZERO;
        let mut ok = 0u32;
        for _ in 0..self.attempts {
            let start = Instant::now();
            if let Ok(Ok(_stream)) =
                tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr)).await
            {
                total += start.elapsed();
                ok += 1;
            }
        }
        weight_from_rtt((ok > 0).then(|| total / ok))
    }
}

impl Selector for WeightedIcmp {
    fn select<'s>(
        &self,
        _req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        if let Some(s) = self.ring.load().pick(&self.next, servers) {
            return Some(s);
        }
        let weights = self.weights.lock().unwrap_or_else(|p| p.into_inner());
        let weight = |s: &ServerEntry| i64::from(weights.get(s.key()).copied().unwrap_or(1));
        if servers.iter().all(|s| weight(s) == 0) {
            return self.state.pick(servers, |_| 1);
        }
        self.state.pick(servers, weight)
    }

    fn update_servers(&self, servers: &[ServerEntry]) {
        self.state.retain(servers);
        let keep: HashSet<&str> = servers.iter().map(|s| s.key()).collect();
        let new: Vec<ServerEntry> = {
            let mut weights = self.weights.lock().unwrap_or_else(|p| p.into_inner());
            weights.retain(|k, _| keep.contains(k.as_str()));
            let ring =
                Ring::build_after(&self.ring.load(), servers, |s| weight_of(&weights, s.key()));
            self.ring.store(Arc::new(ring_weights(ring)));
            let mut measuring = self.measuring.lock().unwrap_or_else(|p| p.into_inner());
            measuring.retain(|k| keep.contains(k.as_str()));
            servers
                .iter()
                .filter(|s| !weights.contains_key(s.key()) && measuring.insert(s.key().to_owned()))
                .cloned()
                .collect()
        };
        if new.is_empty() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let this = self.clone();
            rt.spawn(async move {
                this.refresh(&new).await;
                let mut measuring = this.measuring.lock().unwrap_or_else(|p| p.into_inner());
                for s in &new {
                    measuring.remove(s.key());
                }
            });
        } else {
            let mut measuring = self.measuring.lock().unwrap_or_else(|p| p.into_inner());
            for s in &new {
                measuring.remove(s.key());
            }
        }
    }
}

/// The measured weight of `key`, 1 until it is measured.
fn weight_of(weights: &HashMap<String, u32>, key: &str) -> u64 {
    u64::from(weights.get(key).copied().unwrap_or(1))
}

/// When every server weighs 0, they all take calls alike.
fn ring_weights(ring: Ring) -> Ring {
    if ring.is_empty() {
        ring.rebuilt(|_| 1)
    } else {
        ring
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::histogram;
    use super::*;

    #[test]
    fn rpcx_weight_formula() {
        let ms = Duration::from_millis;
        assert_eq!(weight_from_rtt(Some(ms(0))), 191);
        assert_eq!(weight_from_rtt(Some(ms(10))), 191);
        assert_eq!(weight_from_rtt(Some(ms(11))), 190);
        assert_eq!(weight_from_rtt(Some(ms(200))), 1);
        assert_eq!(weight_from_rtt(Some(ms(201))), 1);
        assert_eq!(weight_from_rtt(Some(ms(999))), 1);
        assert_eq!(weight_from_rtt(Some(ms(1000))), 0);
        assert_eq!(weight_from_rtt(None), 0);
    }

    #[tokio::test]
    async fn measures_reachable_and_unreachable_servers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = format!("tcp@{}", listener.local_addr().unwrap());
        // A port that was just free: connects are refused.
        let down = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("tcp@{}", l.local_addr().unwrap())
        };
        let list = vec![
            ServerEntry::new(&up, ""),
            ServerEntry::new(&down, ""),
            ServerEntry::new("unix@/tmp/x.sock", ""),
        ];
        let sel = WeightedIcmp::default();
        sel.refresh(&list).await;
        let up_weight = sel.weight_of(&up).unwrap();
        assert!(up_weight > 0, "a reachable server has a positive weight");
        assert_eq!(sel.weight_of(&down), Some(0));
        assert_eq!(sel.weight_of("unix@/tmp/x.sock"), Some(1));
        let h = histogram(&sel, &list, 10 * (up_weight as usize + 1));
        assert_eq!(h.get(&down), None, "unreachable servers take no calls");
        assert_eq!(
            (h[&up], h["unix@/tmp/x.sock"]),
            (10 * up_weight as usize, 10)
        );
    }
}
