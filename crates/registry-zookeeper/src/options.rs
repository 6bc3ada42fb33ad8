//! [`ZkOptions`]: where ZooKeeper is and how the registrar and discovery behave.

use fastrpc_discovery::{DEFAULT_BASE_PATH, RegistryError, RegistryUrl};
use std::time::Duration;
use zookeeper_client::Client;

/// Options of a ZooKeeper registrar or discovery.
///
/// From a URL (`zookeeper://h1:2181,h2:2181/rpcx_test?ttl=10s`, see
/// [`ZkOptions::from_url`]) or built in code:
///
/// ```
/// use fastrpc_registry_zookeeper::ZkOptions;
/// use std::time::Duration;
/// let options = ZkOptions::new(["127.0.0.1:2181"])
///     .base_path("/rpcx_test")
///     .session_timeout(Duration::from_secs(6));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZkOptions {
    /// The ensemble, `host:port` each.
    pub servers: Vec<String>,
    /// The rpcx base path (`/rpcx_test` or `rpcx_test`: both give the znode `/rpcx_test`).
    /// Default `/rpcx`.
    pub base_path: String,
    /// The session timeout: ephemeral entries vanish this long after their server stops
    /// (a crash). ZooKeeper clamps it to between 2 and 20 ticks. Default 10 s.
    pub session_timeout: Duration,
    /// How often the registrar checks and rewrites its entries (rpcx's `UpdateInterval`).
    /// Zero makes the entries **persistent** znodes, as in Go (they then outlive a crash);
    /// otherwise they are ephemeral. Default 10 s.
    pub interval: Duration,
    /// The deadline of each ZooKeeper request. Default 5 s.
    pub timeout: Duration,
    /// How often a discovery lists its service again even when no watch fired.
    /// Default 30 s.
    pub resync: Duration,
    /// `digest` authentication, `user:password`.
    pub digest: Option<String>,
}

impl ZkOptions {
    /// Defaults for the given servers.
    pub fn new<I, S>(servers: I) -> ZkOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ZkOptions {
            servers: servers.into_iter().map(Into::into).collect(),
            base_path: DEFAULT_BASE_PATH.to_owned(),
            session_timeout: Duration::from_secs(10),
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            resync: Duration::from_secs(30),
            digest: None,
        }
    }

    /// Sets the base path.
    pub fn base_path(mut self, base_path: impl Into<String>) -> Self {
        self.base_path = base_path.into();
        self
    }

    /// Sets the session timeout.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// Sets the refresh interval (zero: persistent entries).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the per-request deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the discovery's periodic re-list interval.
    pub fn resync(mut self, resync: Duration) -> Self {
        self.resync = resync;
        self
    }

    /// Sets `digest` authentication (`user`, `password`).
    pub fn digest(mut self, user: &str, password: &str) -> Self {
        self.digest = Some(format!("{user}:{password}"));
        self
    }

    /// Options from `zookeeper://[user:password@]h1:2181,h2:2181[/base][?options]`
    /// (also `zk://`).
    ///
    /// | option | meaning | default |
    /// |---|---|---|
    /// | path or `base` | base path | `/rpcx` |
    /// | `ttl` (or `session_timeout`) | session timeout | `10s` |
    /// | `interval` | refresh interval; `0` = persistent entries | `10s` |
    /// | `timeout` | per-request deadline | `5s` |
    /// | `resync` | discovery re-list interval | `30s` |
    ///
    /// A user name and password authenticate with the `digest` scheme.
    pub fn from_url(url: &RegistryUrl) -> Result<ZkOptions, RegistryError> {
        if !matches!(url.scheme(), "zookeeper" | "zk") {
            return Err(RegistryError::InvalidUrl {
                url: url.as_str().to_owned(),
                reason: "expected a zookeeper:// URL".into(),
            });
        }
        let mut o = ZkOptions::new(url.require_hosts()?.iter().cloned()).base_path(url.base_path());
        if let Some(t) = url.duration("ttl")?.or(url.duration("session_timeout")?) {
            o.session_timeout = t;
        }
        if let Some(interval) = url.duration("interval")? {
            o.interval = interval;
        }
        if let Some(timeout) = url.duration("timeout")? {
            o.timeout = timeout;
        }
        if let Some(resync) = url.duration("resync")? {
            o.resync = resync;
        }
        if let Some(user) = url.username() {
            o.digest = Some(format!("{user}:{}", url.password().unwrap_or("")));
        }
        Ok(o)
    }

    /// True when the registrar writes ephemeral entries (Go: `UpdateInterval > 0`).
    pub fn ephemeral(&self) -> bool {
        !self.interval.is_zero()
    }

    /// A new session with the ensemble.
    pub(crate) async fn connect(&self) -> Result<Client, RegistryError> {
        let mut connector = Client::connector()
            .with_session_timeout(self.session_timeout)
            .with_connection_timeout(self.timeout);
        if let Some(digest) = &self.digest {
            connector = connector.with_auth("digest", digest.as_bytes());
        }
        let cluster = self.servers.join(",");
        // The connector retries every server for about a session timeout before giving up.
        let limit = self.session_timeout + self.timeout;
        tokio::time::timeout(limit, connector.connect(&cluster))
            .await
            .map_err(|_| crate::error::timed_out("connect"))?
            .map_err(crate::error::to_registry_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_url() {
        let url: RegistryUrl = "zookeeper://u:pw@h1:2181,h2:2181/rpcx_test?ttl=6s&interval=0"
            .parse()
            .unwrap();
        let o = ZkOptions::from_url(&url).unwrap();
        assert_eq!(o.servers, ["h1:2181", "h2:2181"]);
        assert_eq!(o.base_path, "/rpcx_test");
        assert_eq!(o.session_timeout, Duration::from_secs(6));
        assert!(!o.ephemeral());
        assert_eq!(o.digest.as_deref(), Some("u:pw"));
        let o = ZkOptions::from_url(&"zk://h:1?base=rpcx".parse().unwrap()).unwrap();
        assert_eq!(o.base_path, "rpcx");
        assert!(o.ephemeral());
        assert!(ZkOptions::from_url(&"zookeeper:///x".parse().unwrap()).is_err());
        assert!(ZkOptions::from_url(&"etcd://h".parse().unwrap()).is_err());
    }
}
