//! Geographic selection: the nearest server by great-circle distance.

use super::{SelectRequest, Selector};
use crate::discovery::ServerEntry;
use arc_swap::ArcSwapOption;
use std::sync::Arc;

/// The Earth radius rpcx uses for haversine distances, in metres.
pub const EARTH_RADIUS_METERS: f64 = 6_378_100.0;

/// Great-circle distance in metres between two `(latitude, longitude)` points in degrees.
pub fn haversine_meters(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_METERS * h.sqrt().min(1.0).asin()
}

/// Picks the server nearest to the client (select mode 5), by the servers' `latitude` and
/// `longitude` metadata. Servers without a position count as infinitely far; when no server
/// has one, the first usable server is taken. Ties go to the first in the list.
///
/// The nearest server of the whole list is found once per server-list update, so a pick is
/// O(1); only on a list it was not computed for (a server skipped: its breaker is open) are
/// the distances computed again.
#[derive(Debug)]
pub struct Closest {
    position: (f64, f64),
    nearest: ArcSwapOption<Nearest>,
}

/// The nearest server of one list: the list's address and length, its position and key.
#[derive(Debug)]
struct Nearest {
    list_addr: usize,
    len: usize,
    pos: usize,
    key: Box<str>,
}

impl Closest {
    /// A selector for a client at `latitude`, `longitude` (degrees); rpcx's
    /// `ConfigGeoSelector`.
    pub fn new(latitude: f64, longitude: f64) -> Closest {
        Closest {
            position: (latitude, longitude),
            nearest: ArcSwapOption::empty(),
        }
    }

    fn nearest<'s>(&self, servers: &'s [ServerEntry]) -> Option<(usize, &'s ServerEntry)> {
        let distance = |s: &ServerEntry| {
            s.position()
                .map_or(f64::INFINITY, |p| haversine_meters(self.position, p))
        };
        let mut best = (0, servers.first()?);
        let mut best_d = distance(best.1);
        for (i, s) in servers.iter().enumerate().skip(1) {
            let d = distance(s);
            if d < best_d {
                best = (i, s);
                best_d = d;
            }
        }
        Some(best)
    }
}

impl Selector for Closest {
    fn select<'s>(
        &self,
        _req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        if let Some(n) = &*self.nearest.load() {
            if servers.as_ptr() as usize == n.list_addr
                && servers.len() == n.len
                && servers[n.pos].key() == &*n.key
            {
                return Some(&servers[n.pos]);
            }
        }
        self.nearest(servers).map(|(_, s)| s)
    }

    fn update_servers(&self, servers: &[ServerEntry]) {
        let nearest = self.nearest(servers).map(|(pos, s)| {
            Arc::new(Nearest {
                list_addr: servers.as_ptr() as usize,
                len: servers.len(),
                pos,
                key: Box::from(s.key()),
            })
        });
        self.nearest.store(nearest);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::req;
    use super::*;

    #[test]
    fn haversine_matches_known_distance() {
        // Beijing to Shanghai is about 1068 km on a 6378.1 km sphere.
        let d = haversine_meters((39.9042, 116.4074), (31.2304, 121.4737));
        assert!((1_060_000.0..1_075_000.0).contains(&d), "{d}");
        assert_eq!(haversine_meters((1.0, 2.0), (1.0, 2.0)), 0.0);
    }

    #[test]
    fn picks_the_nearest() {
        let list = vec![
            ServerEntry::new("tcp@nowhere:1", ""),
            ServerEntry::new("tcp@beijing:1", "latitude=39.9042&longitude=116.4074"),
            ServerEntry::new("tcp@shanghai:1", "latitude=31.2304&longitude=121.4737"),
            ServerEntry::new("tcp@london:1", "latitude=51.5074&longitude=-0.1278"),
        ];
        let in_hangzhou = Closest::new(30.2741, 120.1551);
        assert_eq!(
            in_hangzhou.select(&req(b""), &list).unwrap().key(),
            "tcp@shanghai:1"
        );
        in_hangzhou.update_servers(&list);
        assert_eq!(
            in_hangzhou.select(&req(b""), &list).unwrap().key(),
            "tcp@shanghai:1",
            "precomputed"
        );
        assert_eq!(
            in_hangzhou.select(&req(b""), &list[..2]).unwrap().key(),
            "tcp@beijing:1",
            "a subset is measured again"
        );
        let in_paris = Closest::new(48.8566, 2.3522);
        assert_eq!(
            in_paris.select(&req(b""), &list).unwrap().key(),
            "tcp@london:1"
        );
        let unknown = [
            ServerEntry::new("tcp@x:1", ""),
            ServerEntry::new("tcp@y:1", ""),
        ];
        assert_eq!(
            in_paris.select(&req(b""), &unknown).unwrap().key(),
            "tcp@x:1"
        );
    }
}
