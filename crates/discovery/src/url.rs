//! [`RegistryUrl`]: a registry chosen by a URL string from configuration.
//!
//! The forms (one per backend; see docs/REGISTRIES.md):
//!
//! | URL | meaning |
//! |---|---|
//! | `etcd://h1:2379,h2:2379/rpcx_test` | etcd v3 endpoints, base path `/rpcx_test` |
//! | `zookeeper://h:2181,h2:2181/rpcx_test` | a ZooKeeper ensemble |
//! | `consul://h:8500/rpcx_test` | a Consul agent |
//! | `redis://:password@h:6379/rpcx_test?db=0` | a Redis server |
//! | `mdns://?domain=local.` | mDNS on the local link |
//! | `static://tcp@a:1,tcp@b:2?weight=1` | a fixed list of servers (the query is their metadata) |
//! | `p2p://tcp@h:8972` | one fixed server |
//! | `dns://name:8972?network=tcp&interval=30s` | a DNS name resolved periodically |
//!
//! The URL path is the rpcx **base path, verbatim** (with its leading slash: each backend then
//! applies Go rpcx's own normalisation). Since a URL path always starts with `/`, a base path
//! without one is given as `?base=rpcx_test`. With neither, the base path is
//! [`DEFAULT_BASE_PATH`]. Options go in the query string (`ttl=30s`, `interval=10s`,
//! `group=g1`, ...); durations are written `500ms`, `30s`, `2m`, `1h`, or a bare number of
//! seconds. User name and password (`user:pass@`) are percent-decoded.

use crate::RegistryError;
use crate::entry::parse_query;
use std::time::Duration;

/// The base path used when a registry URL gives none.
pub const DEFAULT_BASE_PATH: &str = "/rpcx";

/// A parsed registry URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryUrl {
    raw: String,
    scheme: String,
    authority: String,
    user: Option<(String, Option<String>)>,
    hosts: Vec<String>,
    path: String,
    query: Vec<(String, String)>,
    raw_query: String,
}

impl RegistryUrl {
    /// Parses `scheme://[user[:password]@]host1[,host2..][/path][?query]`.
    pub fn parse(url: &str) -> Result<RegistryUrl, RegistryError> {
        let invalid = |reason: &str| RegistryError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected `scheme://...`"))?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(invalid("bad scheme"));
        }
        let scheme = scheme.to_ascii_lowercase();
        let (before_query, raw_query) = rest.split_once('?').unwrap_or((rest, ""));
        // Static lists hold `network@addr` keys, whose `@` is not user info and whose address
        // may contain `/` (`unix@/tmp/s`): everything before the query is the authority.
        let keyed = matches!(scheme.as_str(), "static" | "p2p");
        let (authority, path) = match before_query.find('/') {
            Some(i) if !keyed => before_query.split_at(i),
            _ => (before_query, ""),
        };
        let (user, hosts_part) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) if !keyed => {
                let (name, password) = match userinfo.split_once(':') {
                    Some((n, p)) => (n, Some(percent_decode(p))),
                    None => (userinfo, None),
                };
                (Some((percent_decode(name), password)), hosts)
            }
            _ => (None, authority),
        };
        let hosts = hosts_part
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(RegistryUrl {
            raw: url.to_owned(),
            scheme,
            authority: authority.to_owned(),
            user,
            hosts,
            path: path.to_owned(),
            query: parse_query(raw_query),
            raw_query: raw_query.to_owned(),
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The scheme, lower-cased (`etcd`, `zookeeper`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The hosts (`h1:2379`), in order; for `static://` and `p2p://`, the server keys.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The hosts, or an [`InvalidUrl`](RegistryError::InvalidUrl) error when there are none.
    pub fn require_hosts(&self) -> Result<&[String], RegistryError> {
        if self.hosts.is_empty() {
            return Err(RegistryError::InvalidUrl {
                url: self.raw.clone(),
                reason: "no host given".into(),
            });
        }
        Ok(&self.hosts)
    }

    /// Everything between `://` and the path or query, as given.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The user name of `user:password@`, percent-decoded.
    pub fn username(&self) -> Option<&str> {
        self.user
            .as_ref()
            .map(|(n, _)| n.as_str())
            .filter(|n| !n.is_empty())
    }

    /// The password of `user:password@`, percent-decoded.
    pub fn password(&self) -> Option<&str> {
        self.user.as_ref().and_then(|(_, p)| p.as_deref())
    }

    /// The rpcx base path: `?base=` if given, else the URL path verbatim (`/rpcx_test`), else
    /// [`DEFAULT_BASE_PATH`]. A trailing `/` is dropped.
    pub fn base_path(&self) -> &str {
        let path = self
            .query("base")
            .or(Some(self.path.as_str()).filter(|p| !p.is_empty() && *p != "/"))
            .unwrap_or(DEFAULT_BASE_PATH);
        let trimmed = path.trim_end_matches('/');
        if trimmed.is_empty() { path } else { trimmed }
    }

    /// The first value of query option `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of query option `key`, in order.
    pub fn query_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The query string as given, without the `?`.
    pub fn raw_query(&self) -> &str {
        &self.raw_query
    }

    /// Query option `key` as a duration (`500ms`, `30s`, `2m`, `1h`, or bare seconds).
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, RegistryError> {
        self.query(key)
            .map(|v| {
                parse_duration(v).ok_or_else(|| RegistryError::InvalidUrl {
                    url: self.raw.clone(),
                    reason: format!("option `{key}`: `{v}` is not a duration (like 30s)"),
                })
            })
            .transpose()
    }

    /// Query option `key` parsed as `T`.
    pub fn parsed<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, RegistryError> {
        self.query(key)
            .map(|v| {
                v.parse::<T>().map_err(|_| RegistryError::InvalidUrl {
                    url: self.raw.clone(),
                    reason: format!("option `{key}`: cannot parse `{v}`"),
                })
            })
            .transpose()
    }
}

impl std::str::FromStr for RegistryUrl {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegistryUrl::parse(s)
    }
}

impl std::fmt::Display for RegistryUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Parses `500ms`, `30s`, `2m`, `1h`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

fn percent_decode(s: &str) -> String {
    parse_query(&format!("x={s}"))
        .pop()
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_urls() {
        let u = RegistryUrl::parse("etcd://h1:2379,h2:2379/rpcx_test?ttl=10s&group=a").unwrap();
        assert_eq!(u.scheme(), "etcd");
        assert_eq!(u.hosts(), ["h1:2379", "h2:2379"]);
        assert_eq!(u.base_path(), "/rpcx_test");
        assert_eq!(u.duration("ttl").unwrap(), Some(Duration::from_secs(10)));
        assert_eq!(u.query("group"), Some("a"));

        let u = RegistryUrl::parse("redis://:p%40ss@127.0.0.1:6379?base=rpcx_test&db=2").unwrap();
        assert_eq!(u.hosts(), ["127.0.0.1:6379"]);
        assert_eq!(u.password(), Some("p@ss"));
        assert_eq!(u.username(), None);
        assert_eq!(u.base_path(), "rpcx_test");
        assert_eq!(u.parsed::<u8>("db").unwrap(), Some(2));

        let u = RegistryUrl::parse("ZooKeeper://h:2181").unwrap();
        assert_eq!(u.scheme(), "zookeeper");
        assert_eq!(u.base_path(), DEFAULT_BASE_PATH);

        let u = RegistryUrl::parse("static://tcp@a:1,unix@/tmp/s?weight=2").unwrap();
        assert_eq!(u.hosts(), ["tcp@a:1", "unix@/tmp/s"]);
        assert_eq!(u.raw_query(), "weight=2");

        let u = RegistryUrl::parse("mdns://").unwrap();
        assert!(u.hosts().is_empty());
        assert!(u.require_hosts().is_err());

        assert!(RegistryUrl::parse("etcd:/h").is_err());
        assert!(RegistryUrl::parse("://h").is_err());
        assert!(
            RegistryUrl::parse("etcd://h?ttl=soon")
                .unwrap()
                .duration("ttl")
                .is_err()
        );
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("5d"), None);
    }
}
