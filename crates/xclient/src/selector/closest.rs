//! Geographic selection: the nearest server by great-circle distance.

use super::{SelectRequest, Selector};
use crate::discovery::ServerEntry;

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
#[derive(Debug, Clone, Copy)]
pub struct Closest {
    position: (f64, f64),
}

impl Closest {
    /// A selector for a client at `latitude`, `longitude` (degrees); rpcx's
    /// `ConfigGeoSelector`.
    pub fn new(latitude: f64, longitude: f64) -> Closest {
        Closest {
            position: (latitude, longitude),
        }
    }
}

impl Selector for Closest {
    fn select<'s>(
        &self,
        _req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
    ) -> Option<&'s ServerEntry> {
        let distance = |s: &ServerEntry| {
            s.position()
                .map_or(f64::INFINITY, |p| haversine_meters(self.position, p))
        };
        let mut best = servers.first()?;
        let mut best_d = distance(best);
        for s in &servers[1..] {
            let d = distance(s);
            if d < best_d {
                best = s;
                best_d = d;
            }
        }
        Some(best)
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
