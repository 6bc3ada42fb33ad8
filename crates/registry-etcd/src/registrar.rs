//! [`EtcdRegistrar`]: publishes a server's services in etcd under one lease.

use crate::EtcdOptions;
use crate::error::{is_lease_not_found, timed_out, to_registry_error};
use crate::layout::{BASE_PATH_VALUE, server_entry_key, service_key};
use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp};
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{BoxFuture, Registrar, RegistryError};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The server side of rpcx's etcd registry (Go's `EtcdV3RegisterPlugin`).
///
/// For every registered service it puts, all attached to **one lease** of TTL
/// [`EtcdOptions::ttl`]: `{base}` = `rpcx_path`, `{base}/{service}` = the service name and
/// `{base}/{service}/{server_key}` = the metadata. A background task keeps the lease alive
/// and, every [`EtcdOptions::interval`], writes back any entry that has gone missing. When
/// the lease is lost (etcd unreachable for longer than the TTL, or the lease revoked) it
/// grants a new one with backoff and puts every entry again.
///
/// [`close`](Registrar::close) deletes the entries and revokes the lease. Dropping the
/// registrar without closing it stops the keep-alive only, like a crashed server: the
/// entries vanish when the lease expires.
pub struct EtcdRegistrar {
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

struct Inner {
    client: Client,
    options: EtcdOptions,
    /// (service, server key) -> metadata: what must be in etcd.
    entries: Mutex<BTreeMap<(String, String), String>>,
    /// The current lease; held while writing so that writes and re-registration are ordered.
    lease: tokio::sync::Mutex<Option<i64>>,
    /// Woken when a write finds the lease gone.
    lease_lost: Notify,
}

impl std::fmt::Debug for EtcdRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdRegistrar")
            .field("base_path", &self.inner.options.base_path)
            .field("entries", &self.inner.entries())
            .finish_non_exhaustive()
    }
}

impl EtcdRegistrar {
    /// Connects and grants the lease (failing with
    /// [`Unavailable`](RegistryError::Unavailable) if etcd does not answer), then keeps it
    /// alive in the background. Must be called inside a tokio runtime.
    pub async fn connect(options: EtcdOptions) -> Result<EtcdRegistrar, RegistryError> {
        let client = options.client().await?;
        let inner = Arc::new(Inner {
            client,
            options,
            entries: Mutex::new(BTreeMap::new()),
            lease: tokio::sync::Mutex::new(None),
            lease_lost: Notify::new(),
        });
        // A cluster electing a leader answers after a while: retry for a few deadlines.
        let lease =
            crate::backoff::retry_unavailable(3 * inner.options.timeout, || inner.grant()).await?;
        *inner.lease.lock().await = Some(lease);
        let task = tokio::spawn(keep_registered(inner.clone(), lease));
        Ok(EtcdRegistrar { inner, task })
    }

    /// The id of the lease the entries are attached to, once granted.
    pub async fn lease_id(&self) -> Option<i64> {
        *self.inner.lease.lock().await
    }
}

impl Drop for EtcdRegistrar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Inner {
    fn entries(&self) -> Vec<((String, String), String)> {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    async fn deadline<T>(
        &self,
        what: &str,
        f: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, etcd_client::Error> {
        tokio::time::timeout(self.options.timeout, f)
            .await
            .unwrap_or_else(|_| {
                // An I/O timeout, so that it maps to `Unavailable` (retry later).
                Err(etcd_client::Error::IoError(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{what} timed out"),
                )))
            })
    }

    async fn grant(&self) -> Result<i64, RegistryError> {
        let mut lease = self.client.lease_client();
        let ttl = self.options.ttl_secs();
        tokio::time::timeout(self.options.timeout, lease.grant(ttl, None))
            .await
            .map_err(|_| timed_out("lease grant"))?
            .map(|r| r.id())
            .map_err(to_registry_error)
    }

    /// Puts the three keys of one entry with `lease`, as Go does on Register.
    async fn put_entry(
        &self,
        lease: i64,
        service: &str,
        server_key: &str,
        metadata: &str,
    ) -> Result<(), etcd_client::Error> {
        let base = &self.options.base_path;
        let mut kv = self.client.kv_client();
        let with_lease = || Some(PutOptions::new().with_lease(lease));
        for (key, value) in [
            (base.clone(), BASE_PATH_VALUE),
            (service_key(base, service), service),
            (server_entry_key(base, service, server_key), metadata),
        ] {
            self.deadline("put", kv.put(key, value, with_lease()))
                .await?;
        }
        Ok(())
    }

    /// Puts every entry with `lease`.
    async fn put_all(&self, lease: i64) -> Result<(), etcd_client::Error> {
        for ((service, server_key), metadata) in self.entries() {
            self.put_entry(lease, &service, &server_key, &metadata)
                .await?;
        }
        Ok(())
    }

    /// Go's refresh: every entry whose key is missing is put again.
    async fn refresh(&self, lease: i64) -> Result<(), etcd_client::Error> {
        let mut kv = self.client.kv_client();
        for ((service, server_key), metadata) in self.entries() {
            let key = server_entry_key(&self.options.base_path, &service, &server_key);
            let found = self.deadline("get", kv.get(key, None)).await?;
            if found.kvs().is_empty() {
                tracing::info!(%service, %server_key, "etcd registrar: entry was missing; writing it again");
                self.put_entry(lease, &service, &server_key, &metadata)
                    .await?;
            }
        }
        Ok(())
    }

    /// Reports a write error: a lost lease wakes the background task to re-grant it.
    fn write_error(&self, e: etcd_client::Error) -> RegistryError {
        if is_lease_not_found(&e) {
            self.lease_lost.notify_one();
        }
        to_registry_error(e)
    }
}

/// The background task: keep-alive, periodic refresh, and recovery of a lost lease.
async fn keep_registered(inner: Arc<Inner>, mut lease: i64) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(3));
    loop {
        match keep_alive(&inner, lease).await {
            KeepAliveEnd::LeaseLost => {
                tracing::warn!(
                    lease,
                    "etcd registrar: lease lost; granting a new one and registering again"
                );
            }
            KeepAliveEnd::StreamBroken => {
                // etcd unreachable: try the same lease again; etcd tells us if it is gone.
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        }
        // Grant a new lease and put everything under it, with backoff until it works.
        loop {
            let mut guard = inner.lease.lock().await;
            let result = match inner.grant().await {
                Ok(new) => {
                    *guard = Some(new);
                    lease = new;
                    inner.put_all(new).await.map_err(to_registry_error)
                }
                Err(e) => Err(e),
            };
            drop(guard);
            match result {
                Ok(()) => {
                    backoff.reset();
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "etcd registrar: re-registering failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }
}

enum KeepAliveEnd {
    /// etcd says the lease no longer exists.
    LeaseLost,
    /// The keep-alive stream failed or went silent (etcd unreachable).
    StreamBroken,
}

/// Keeps `lease` alive (a keep-alive every third of the TTL) and refreshes the entries every
/// interval, until the lease is lost or the stream breaks.
async fn keep_alive(inner: &Inner, lease: i64) -> KeepAliveEnd {
    let period = (inner.options.ttl / 3).max(Duration::from_millis(300));
    let mut lease_client = inner.client.lease_client();
    let opened = tokio::time::timeout(inner.options.timeout, lease_client.keep_alive(lease)).await;
    let (mut keeper, mut stream) = match opened {
        Ok(Ok(pair)) => pair,
        _ => return KeepAliveEnd::StreamBroken,
    };
    let mut refresh = tokio::time::interval(inner.options.interval);
    refresh.reset();
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if keeper.keep_alive().await.is_err() {
                    return KeepAliveEnd::StreamBroken;
                }
                match tokio::time::timeout(period.max(inner.options.timeout), stream.message()).await {
                    Ok(Ok(Some(resp))) if resp.ttl() > 0 => {}
                    Ok(Ok(Some(_))) => return KeepAliveEnd::LeaseLost,
                    _ => return KeepAliveEnd::StreamBroken,
                }
            }
            _ = refresh.tick() => {
                let _guard = inner.lease.lock().await;
                if let Err(e) = inner.refresh(lease).await {
                    if is_lease_not_found(&e) {
                        return KeepAliveEnd::LeaseLost;
                    }
                    tracing::debug!(error = %e, "etcd registrar: refresh failed");
                }
            }
            _ = inner.lease_lost.notified() => return KeepAliveEnd::LeaseLost,
        }
    }
}

impl Registrar for EtcdRegistrar {
    fn register<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let inner = &self.inner;
            inner
                .entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(
                    (service.to_owned(), server_key.to_owned()),
                    metadata.to_owned(),
                );
            let guard = inner.lease.lock().await;
            let lease = (*guard).ok_or_else(|| {
                RegistryError::Unavailable(
                    "etcd: no lease yet; the entry is written when one is granted".into(),
                )
            })?;
            inner
                .put_entry(lease, service, server_key, metadata)
                .await
                .map_err(|e| inner.write_error(e))
        })
    }

    fn unregister<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let inner = &self.inner;
            inner
                .entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(service.to_owned(), server_key.to_owned()));
            let _guard = inner.lease.lock().await;
            let key = server_entry_key(&inner.options.base_path, service, server_key);
            let mut kv = inner.client.kv_client();
            inner
                .deadline("delete", kv.delete(key, None))
                .await
                .map(|_| ())
                .map_err(to_registry_error)
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async move {
            self.task.abort();
            let inner = &self.inner;
            let entries =
                std::mem::take(&mut *inner.entries.lock().unwrap_or_else(|p| p.into_inner()));
            let mut guard = inner.lease.lock().await;
            let mut kv = inner.client.kv_client();
            let mut first_error = None;
            for (service, server_key) in entries.keys() {
                let key = server_entry_key(&inner.options.base_path, service, server_key);
                if let Err(e) = inner.deadline("delete", kv.delete(key, None)).await {
                    first_error.get_or_insert(to_registry_error(e));
                }
            }
            if let Some(lease) = guard.take() {
                let mut lease_client = inner.client.lease_client();
                if let Err(e) = inner.deadline("revoke", lease_client.revoke(lease)).await
                    && !is_lease_not_found(&e)
                {
                    first_error.get_or_insert(to_registry_error(e));
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    /// rpcx-ui's write: a put of the new metadata on the entry's key. Unlike rpcx-ui, the
    /// put keeps the key's lease (`ignore_lease`), so the entry still vanishes with its
    /// server, and it is a transaction that writes only when the key exists.
    fn update_metadata<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let inner = &self.inner;
            let key = server_entry_key(&inner.options.base_path, service, server_key);
            let txn = Txn::new()
                .when([Compare::version(key.as_str(), CompareOp::Greater, 0)])
                .and_then([TxnOp::put(
                    key.as_str(),
                    metadata,
                    Some(PutOptions::new().with_ignore_lease()),
                )]);
            let mut kv = inner.client.kv_client();
            let resp = inner
                .deadline("txn", kv.txn(txn))
                .await
                .map_err(to_registry_error)?;
            if resp.succeeded() {
                Ok(())
            } else {
                Err(RegistryError::NotFound(key))
            }
        })
    }

    /// The services with at least one server entry under the base path (a keys-only
    /// prefix read).
    fn services(&self) -> BoxFuture<'_, Result<Vec<String>, RegistryError>> {
        Box::pin(async move {
            let inner = &self.inner;
            let prefix = format!("{}/", inner.options.base_path);
            let mut kv = inner.client.kv_client();
            let opts = GetOptions::new().with_prefix().with_keys_only();
            let resp = inner
                .deadline("get", kv.get(prefix.as_str(), Some(opts)))
                .await
                .map_err(to_registry_error)?;
            let mut names: Vec<String> = resp
                .kvs()
                .iter()
                .filter_map(|kv| {
                    let rest = kv.key_str().ok()?.strip_prefix(prefix.as_str())?;
                    let (service, server) = rest.split_once('/')?;
                    (!service.is_empty() && !server.is_empty()).then(|| service.to_owned())
                })
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        })
    }
}
