//! [`EtcdOptions`]: where etcd is and how the registrar and discovery behave.

use fastrpc_discovery::{DEFAULT_BASE_PATH, RegistryError, RegistryUrl};
use std::time::Duration;

/// Options of an etcd registrar or discovery.
///
/// From a URL (`etcd://h1:2379,h2:2379/rpcx_test?ttl=30s`, see [`EtcdOptions::from_url`]) or
/// built in code:
///
/// ```
/// use fastrpc_registry_etcd::EtcdOptions;
/// use std::time::Duration;
/// let options = EtcdOptions::new(["127.0.0.1:2379"])
///     .base_path("/rpcx_test")
///     .ttl(Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EtcdOptions {
    /// The etcd endpoints, `host:port` or `http://host:port`.
    pub endpoints: Vec<String>,
    /// The rpcx base path, used verbatim (`/rpcx_test`). Default `/rpcx`.
    pub base_path: String,
    /// The TTL of the registrar's lease; entries vanish this long after the server stops
    /// refreshing it (a crash). Whole seconds, at least 1. Default 30 s (rpcx's default).
    pub ttl: Duration,
    /// How often the registrar checks that its entries are still there (rpcx's
    /// `UpdateInterval`) and writes back any that are missing. Default 10 s.
    pub interval: Duration,
    /// The deadline of each etcd request. Default 5 s.
    pub timeout: Duration,
    /// How often a discovery lists its directory again even when the watch is quiet.
    /// Default 30 s.
    pub resync: Duration,
    /// User name and password for etcd's authentication.
    pub credentials: Option<(String, String)>,
}

impl EtcdOptions {
    /// Defaults for the given endpoints.
    pub fn new<I, S>(endpoints: I) -> EtcdOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EtcdOptions {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            base_path: DEFAULT_BASE_PATH.to_owned(),
            ttl: Duration::from_secs(30),
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            resync: Duration::from_secs(30),
            credentials: None,
        }
    }

    /// Sets the base path (verbatim).
    pub fn base_path(mut self, base_path: impl Into<String>) -> Self {
        self.base_path = base_path.into();
        self
    }

    /// Sets the lease TTL.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the refresh interval.
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

    /// Sets the user name and password.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Options from `etcd://[user:password@]h1:2379,h2:2379[/base][?options]`.
    ///
    /// | option | meaning | default |
    /// |---|---|---|
    /// | path or `base` | base path, verbatim | `/rpcx` |
    /// | `ttl` | lease TTL | `30s` |
    /// | `interval` | refresh interval | `10s` |
    /// | `timeout` | per-request deadline | `5s` |
    /// | `resync` | discovery re-list interval | `30s` |
    pub fn from_url(url: &RegistryUrl) -> Result<EtcdOptions, RegistryError> {
        if !matches!(url.scheme(), "etcd" | "etcdv3") {
            return Err(RegistryError::InvalidUrl {
                url: url.as_str().to_owned(),
                reason: "expected an etcd:// URL".into(),
            });
        }
        let mut o =
            EtcdOptions::new(url.require_hosts()?.iter().cloned()).base_path(url.base_path());
        if let Some(ttl) = url.duration("ttl")? {
            o.ttl = ttl;
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
            o.credentials = Some((user.to_owned(), url.password().unwrap_or("").to_owned()));
        }
        Ok(o)
    }

    /// The lease TTL in whole seconds (rounded up, at least 1), as etcd takes it.
    pub(crate) fn ttl_secs(&self) -> i64 {
        let ms = self.ttl.as_millis().max(1);
        (ms.div_ceil(1000)) as i64
    }

    /// A client for the endpoints. etcd-client connects lazily and reconnects by itself, so
    /// this does not fail when etcd is down.
    pub(crate) async fn client(&self) -> Result<etcd_client::Client, RegistryError> {
        let mut connect = etcd_client::ConnectOptions::new()
            .with_connect_timeout(self.timeout)
            .with_timeout(self.timeout)
            .with_keep_alive(Duration::from_secs(10), self.timeout);
        if let Some((user, password)) = &self.credentials {
            connect = connect.with_user(user.clone(), password.clone());
        }
        let client = tokio::time::timeout(
            self.timeout,
            etcd_client::Client::connect(&self.endpoints, Some(connect)),
        )
        .await
        .map_err(|_| RegistryError::Unavailable("etcd: connect timed out".into()))?
        .map_err(crate::error::to_registry_error)?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_url() {
        let url: RegistryUrl = "etcd://u:p%40w@h1:2379,h2:2379/rpcx_test?ttl=3s&interval=1s"
            .parse()
            .unwrap();
        let o = EtcdOptions::from_url(&url).unwrap();
        assert_eq!(o.endpoints, ["h1:2379", "h2:2379"]);
        assert_eq!(o.base_path, "/rpcx_test");
        assert_eq!(o.ttl, Duration::from_secs(3));
        assert_eq!(o.interval, Duration::from_secs(1));
        assert_eq!(o.credentials, Some(("u".into(), "p@w".into())));
        let o = EtcdOptions::from_url(&"etcd://h:1?base=rpcx".parse().unwrap()).unwrap();
        assert_eq!(o.base_path, "rpcx");
        assert_eq!(o.ttl_secs(), 30);
        assert_eq!(o.clone().ttl(Duration::from_millis(1500)).ttl_secs(), 2);
        assert!(EtcdOptions::from_url(&"etcd:///x".parse().unwrap()).is_err());
        assert!(EtcdOptions::from_url(&"etcd://h?ttl=x".parse().unwrap()).is_err());
        assert!(EtcdOptions::from_url(&"redis://h".parse().unwrap()).is_err());
    }
}
