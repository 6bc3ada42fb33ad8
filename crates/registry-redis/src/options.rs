//! [`RedisOptions`]: where the Redis registry is and how it behaves, from code or a URL.

use fastrpc_discovery::{RegistryError, RegistryUrl};
use std::time::Duration;

/// Options of the Redis registrar and discovery.
///
/// From a URL (`redis://[[user]:password@]host:port[,host2:port]/base?db=2&interval=10s`):
///
/// | option | default | meaning |
/// |---|---|---|
/// | path or `base` | `/rpcx` | rpcx's base path, used verbatim (`/rpcx_test` gives keys `//rpcx_test/...`) |
/// | `db` | `0` | the database index (rpcx's `store.Config.Bucket`) |
/// | `interval` | `10s` (or `ttl`/2) | the registrar's refresh period (rpcx's `UpdateInterval`) |
/// | `ttl` | 2 × `interval` | the expiry of each server entry (rpcx uses 2 × `UpdateInterval`) |
/// | `timeout` | `5s` | the deadline of one Redis connection attempt or command |
/// | `resync` | `30s` | the discovery's full re-list period, in addition to notifications |
/// | `grace` | `30s` | how long the discovery keeps its list when Redis comes back empty (keep it above the registrars' `interval`) |
/// | `max_entries` | `10000` | the most keys one listing reads |
/// | `max_value_bytes` | `65536` | larger values are skipped, not read |
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// `host:port` of each Redis server, tried in order.
    pub hosts: Vec<String>,
    /// The ACL user name (Redis 6+), if any.
    pub username: Option<String>,
    /// The password, if any.
    pub password: Option<String>,
    /// The database index.
    pub db: i64,
    /// rpcx's base path, used verbatim.
    pub base_path: String,
    /// The registrar's refresh period.
    pub interval: Duration,
    /// The expiry of each server entry; longer than `interval`.
    pub ttl: Duration,
    /// The deadline of one connection attempt or command.
    pub timeout: Duration,
    /// The discovery's periodic full re-list.
    pub resync: Duration,
    /// How long the discovery keeps a non-empty list when Redis comes back (after a
    /// reconnection) with no entries: registrars write them again within their interval.
    pub grace: Duration,
    /// The most keys one listing reads (a budget against a flooded prefix).
    pub max_entries: usize,
    /// Values larger than this are skipped.
    pub max_value_bytes: usize,
}

impl RedisOptions {
    /// Defaults for one Redis server at `host:port` (`127.0.0.1:6379`).
    pub fn new(host: impl Into<String>) -> RedisOptions {
        RedisOptions {
            hosts: vec![host.into()],
            username: None,
            password: None,
            db: 0,
            base_path: fastrpc_discovery::DEFAULT_BASE_PATH.to_owned(),
            interval: Duration::from_secs(10),
            ttl: Duration::from_secs(20),
            timeout: Duration::from_secs(5),
            resync: Duration::from_secs(30),
            grace: Duration::from_secs(30),
            max_entries: 10_000,
            max_value_bytes: 64 * 1024,
        }
    }

    /// Sets the base path (`/rpcx_test` or `rpcx_test`, used verbatim).
    pub fn base_path(mut self, base: impl Into<String>) -> RedisOptions {
        self.base_path = base.into();
        self
    }

    /// Sets the refresh interval and the entry TTL (rpcx: TTL = 2 × interval).
    pub fn interval(mut self, interval: Duration) -> RedisOptions {
        self.interval = interval;
        self.ttl = interval * 2;
        self
    }

    /// Options from a `redis://` URL (see the table above).
    pub fn from_url(url: &RegistryUrl) -> Result<RedisOptions, RegistryError> {
        let invalid = |reason: String| RegistryError::InvalidUrl {
            url: url.as_str().to_owned(),
            reason,
        };
        let hosts = url.require_hosts()?;
        let mut o = RedisOptions::new(hosts[0].clone());
        o.hosts = hosts.to_vec();
        o.username = url.username().map(str::to_owned);
        o.password = url.password().map(str::to_owned);
        o.base_path = url.base_path().to_owned();
        o.db = url.parsed("db")?.unwrap_or(0);
        let interval = url.duration("interval")?;
        let ttl = url.duration("ttl")?;
        (o.interval, o.ttl) = match (interval, ttl) {
            (Some(i), Some(t)) => (i, t),
            (Some(i), None) => (i, i * 2),
            (None, Some(t)) => (t / 2, t),
            (None, None) => (o.interval, o.ttl),
        };
        if let Some(t) = url.duration("timeout")? {
            o.timeout = t;
        }
        if let Some(r) = url.duration("resync")? {
            o.resync = r;
        }
        if let Some(g) = url.duration("grace")? {
            o.grace = g;
        }
        if let Some(m) = url.parsed("max_entries")? {
            o.max_entries = m;
        }
        if let Some(m) = url.parsed("max_value_bytes")? {
            o.max_value_bytes = m;
        }
        o.validate().map_err(invalid)?;
        Ok(o)
    }

    /// Checks the options that would make the registry misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.hosts.is_empty() {
            return Err("no Redis host".into());
        }
        if self.interval.is_zero() || self.ttl <= self.interval {
            return Err(format!(
                "the ttl ({:?}) must be longer than the refresh interval ({:?}), which must not be zero",
                self.ttl, self.interval
            ));
        }
        if self.timeout.is_zero() || self.resync.is_zero() {
            return Err("timeout and resync must not be zero".into());
        }
        if self.ttl.as_millis() > u128::from(u64::MAX) {
            return Err("ttl too large".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_url() {
        let url = RegistryUrl::parse(
            "redis://:s3cret@127.0.0.1:16379,127.0.0.1:16380/rpcx_test?db=3&interval=2s&max_entries=5",
        )
        .unwrap();
        let o = RedisOptions::from_url(&url).unwrap();
        assert_eq!(o.hosts, ["127.0.0.1:16379", "127.0.0.1:16380"]);
        assert_eq!(o.password.as_deref(), Some("s3cret"));
        assert_eq!(o.username, None);
        assert_eq!(o.db, 3);
        assert_eq!(o.base_path, "/rpcx_test");
        assert_eq!(
            (o.interval, o.ttl),
            (Duration::from_secs(2), Duration::from_secs(4))
        );
        assert_eq!(o.max_entries, 5);

        let o = RedisOptions::from_url(&RegistryUrl::parse("redis://h:1?base=x&ttl=6s").unwrap())
            .unwrap();
        assert_eq!(o.base_path, "x");
        assert_eq!(
            (o.interval, o.ttl),
            (Duration::from_secs(3), Duration::from_secs(6))
        );

        for bad in [
            "redis://h:1?ttl=1s&interval=2s",
            "redis://h:1?db=x",
            "redis://",
        ] {
            let err = RedisOptions::from_url(&RegistryUrl::parse(bad).unwrap()).unwrap_err();
            assert!(
                matches!(err, RegistryError::InvalidUrl { .. }),
                "{bad}: {err}"
            );
        }
    }
}
