//! [`ConsulOptions`]: where Consul is, which layout to use, and the timings.

use fastrpc_discovery::{RegistryError, RegistryUrl};
use std::time::Duration;

/// rpcx's KV layout (Go interop) or Consul's native service catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsulMode {
    /// rpcx's layout in Consul's KV store, with TTL sessions (`rpcx-protocol.md` §5.3).
    Kv,
    /// Consul's service catalog: agent services with TTL health checks. Not readable by
    /// Go rpcx; for users who want Consul's own tooling (UI, DNS, health) instead.
    Catalog,
}

/// Options of the Consul registrar and discovery.
///
/// From a URL (`consul://host:8500[,host2:8500]/base?mode=kv&interval=10s`):
///
/// | option | default | meaning |
/// |---|---|---|
/// | path or `base` | `/rpcx` | rpcx's base path; its leading `/` is dropped, as rpcx does |
/// | `mode` | `kv` | `kv` (rpcx's layout) or `catalog` (Consul services with TTL checks) |
/// | `interval` | `10s` (or `ttl`/2) | the refresh period (rpcx's `UpdateInterval`) |
/// | `ttl` | 2 × `interval` | how long an entry outlives its last refresh (rpcx: `UpdateInterval + Expired`) |
/// | `token` (or the URL password) | none | sent as `X-Consul-Token` |
/// | `wait` | `15s` | the blocking-query wait (libkv's `DefaultWatchWaitTime`) |
/// | `timeout` | `5s` | the deadline of one request (plus `wait` for blocking ones) |
/// | `grace` | `30s` | how long the discovery keeps its list when Consul comes back empty (keep it above the registrars' `interval`) |
/// | `deregister` | `1m` | catalog mode: `DeregisterCriticalServiceAfter` |
/// | `max_body_bytes` | `4194304` | the largest response read |
#[derive(Clone, Debug)]
pub struct ConsulOptions {
    /// `host:port` of each Consul agent, tried in order.
    pub hosts: Vec<String>,
    /// The ACL token, if any.
    pub token: Option<String>,
    /// rpcx's base path (a leading `/` is dropped when keys are made).
    pub base_path: String,
    /// KV layout or catalog.
    pub mode: ConsulMode,
    /// The refresh period.
    pub interval: Duration,
    /// How long an entry outlives its last refresh.
    pub ttl: Duration,
    /// The blocking-query wait.
    pub wait: Duration,
    /// The deadline of one request.
    pub timeout: Duration,
    /// How long the discovery keeps a non-empty list when Consul comes back empty.
    pub grace: Duration,
    /// Catalog mode: remove a service whose check stayed critical this long.
    pub deregister_after: Duration,
    /// The largest response body read.
    pub max_body_bytes: usize,
}

impl ConsulOptions {
    /// Defaults for one agent at `host:port` (`127.0.0.1:8500`), KV mode.
    pub fn new(host: impl Into<String>) -> ConsulOptions {
        ConsulOptions {
            hosts: vec![host.into()],
            token: None,
            base_path: fastrpc_discovery::DEFAULT_BASE_PATH.to_owned(),
            mode: ConsulMode::Kv,
            interval: Duration::from_secs(10),
            ttl: Duration::from_secs(20),
            wait: Duration::from_secs(15),
            timeout: Duration::from_secs(5),
            grace: Duration::from_secs(30),
            deregister_after: Duration::from_secs(60),
            max_body_bytes: 4 << 20,
        }
    }

    /// Sets the base path.
    pub fn base_path(mut self, base: impl Into<String>) -> ConsulOptions {
        self.base_path = base.into();
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: ConsulMode) -> ConsulOptions {
        self.mode = mode;
        self
    }

    /// Sets the refresh interval and the TTL (rpcx: TTL = 2 × interval).
    pub fn interval(mut self, interval: Duration) -> ConsulOptions {
        self.interval = interval;
        self.ttl = interval * 2;
        self
    }

    /// The base path as rpcx's Consul plugin uses it: without its leading `/`.
    pub(crate) fn kv_base(&self) -> &str {
        self.base_path.strip_prefix('/').unwrap_or(&self.base_path)
    }

    /// Options from a `consul://` URL (see the table above).
    pub fn from_url(url: &RegistryUrl) -> Result<ConsulOptions, RegistryError> {
        let invalid = |reason: String| RegistryError::InvalidUrl {
            url: url.as_str().to_owned(),
            reason,
        };
        let hosts = url.require_hosts()?;
        let mut o = ConsulOptions::new(hosts[0].clone());
        o.hosts = hosts.to_vec();
        o.token = url.query("token").or(url.password()).map(str::to_owned);
        o.base_path = url.base_path().to_owned();
        o.mode = match url.query("mode") {
            None | Some("kv") => ConsulMode::Kv,
            Some("catalog") => ConsulMode::Catalog,
            Some(other) => return Err(invalid(format!("mode `{other}`: expected kv or catalog"))),
        };
        (o.interval, o.ttl) = match (url.duration("interval")?, url.duration("ttl")?) {
            (Some(i), Some(t)) => (i, t),
            (Some(i), None) => (i, i * 2),
            (None, Some(t)) => (t / 2, t),
            (None, None) => (o.interval, o.ttl),
        };
        if let Some(w) = url.duration("wait")? {
            o.wait = w;
        }
        if let Some(t) = url.duration("timeout")? {
            o.timeout = t;
        }
        if let Some(g) = url.duration("grace")? {
            o.grace = g;
        }
        if let Some(d) = url.duration("deregister")? {
            o.deregister_after = d;
        }
        if let Some(m) = url.parsed("max_body_bytes")? {
            o.max_body_bytes = m;
        }
        o.validate().map_err(invalid)?;
        Ok(o)
    }

    /// Checks the options that would make the registry misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.hosts.is_empty() {
            return Err("no Consul host".into());
        }
        if self.interval.is_zero() || self.ttl <= self.interval {
            return Err(format!(
                "the ttl ({:?}) must be longer than the refresh interval ({:?}), which must not be zero",
                self.ttl, self.interval
            ));
        }
        if self.timeout.is_zero() || self.wait.is_zero() {
            return Err("timeout and wait must not be zero".into());
        }
        if self.kv_base().is_empty() {
            return Err("the base path must not be empty".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_url() {
        let url = RegistryUrl::parse("consul://:tok@h1:8500,h2:8500/rpcx_test?interval=2s&wait=1s")
            .unwrap();
        let o = ConsulOptions::from_url(&url).unwrap();
        assert_eq!(o.hosts, ["h1:8500", "h2:8500"]);
        assert_eq!(o.token.as_deref(), Some("tok"));
        assert_eq!(o.kv_base(), "rpcx_test");
        assert_eq!(o.mode, ConsulMode::Kv);
        assert_eq!(
            (o.interval, o.ttl),
            (Duration::from_secs(2), Duration::from_secs(4))
        );
        assert_eq!(o.wait, Duration::from_secs(1));
        let o = ConsulOptions::from_url(
            &RegistryUrl::parse("consul://h:1?mode=catalog&ttl=30s").unwrap(),
        )
        .unwrap();
        assert_eq!(o.mode, ConsulMode::Catalog);
        assert_eq!(o.interval, Duration::from_secs(15));
        for bad in [
            "consul://h:1?mode=x",
            "consul://h:1?ttl=1s&interval=1s",
            "consul://",
        ] {
            assert!(
                ConsulOptions::from_url(&RegistryUrl::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}
