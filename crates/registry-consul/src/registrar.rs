//! [`ConsulRegistrar`]: publishes a server's services in Consul (KV layout or catalog).

use crate::http::ConsulHttp;
use crate::kv::{self, BASE_DIR_VALUE};
use crate::{ConsulMode, ConsulOptions, catalog};
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{BoxFuture, Registrar, RegistryError};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

/// The server side of the Consul registry.
///
/// **KV mode** (rpcx's `ConsulRegisterPlugin`, §5.3): writes `{base}` = `rpcx_path` and
/// `{base}/{service}` = the service name (both without a session), and the entry
/// `{base}/{service}/{server_key}` = the metadata, held by a TTL session created as libkv
/// creates it (`Behavior` delete, `TTL` = ttl/2, which Consul doubles, `LockDelay` 1 ms), every
/// write with `Flags` = [`LOCK_FLAG_VALUE`](crate::LOCK_FLAG_VALUE). Each `interval` the
/// session is renewed and the entry written again (`?acquire=`, which keeps the lock); when
/// the session is gone (expired, or Consul restarted) a new one is made and the keys written
/// again. A killed server's entry is deleted by Consul when its session expires.
///
/// **Catalog mode**: registers an agent service per (service, server) with a TTL check and
/// passes the check each `interval`; re-registers when the agent forgot it.
///
/// While Consul is unreachable the registrar retries with backoff (100 ms doubling, at most
/// 5 s). [`close`](Registrar::close) removes everything; dropping it without closing stops
/// the refresh, and Consul expires the entries.
pub struct ConsulRegistrar {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    opts: ConsulOptions,
    http: ConsulHttp,
    /// (service, server key) -> state. The lock orders refreshes against removals.
    entries: Mutex<BTreeMap<(String, String), Entry>>,
    retry: Notify,
}

#[derive(Default)]
struct Entry {
    metadata: String,
    /// KV mode: the session holding the entry.
    session: Option<String>,
    /// KV mode: the directory keys are written; catalog mode: the service is registered.
    written: bool,
}

impl ConsulRegistrar {
    /// A registrar with `opts`; must be called inside a tokio runtime.
    pub fn new(opts: ConsulOptions) -> Result<ConsulRegistrar, RegistryError> {
        opts.validate()
            .map_err(|reason| RegistryError::InvalidUrl {
                url: format!("consul://{}", opts.hosts.join(",")),
                reason,
            })?;
        let shared = Arc::new(Shared {
            http: ConsulHttp::new(&opts),
            opts,
            entries: Mutex::new(BTreeMap::new()),
            retry: Notify::new(),
        });
        let task = tokio::spawn(refresh_loop(shared.clone()));
        Ok(ConsulRegistrar { shared, task })
    }

    /// The options in use.
    pub fn options(&self) -> &ConsulOptions {
        &self.shared.opts
    }
}

impl Drop for ConsulRegistrar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for ConsulRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulRegistrar")
            .field("hosts", &self.shared.opts.hosts)
            .field("mode", &self.shared.opts.mode)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn leaf(&self, service: &str, key: &str) -> String {
        format!("{}/{service}/{key}", self.opts.kv_base())
    }

    async fn ensure(&self, service: &str, key: &str, e: &mut Entry) -> Result<(), RegistryError> {
        match self.opts.mode {
            ConsulMode::Kv => self.ensure_kv(service, key, e).await,
            ConsulMode::Catalog => {
                if e.written && catalog::pass(&self.http, service, key).await? {
                    return Ok(());
                }
                catalog::register(&self.http, &self.opts, service, key, &e.metadata).await?;
                e.written = true;
                Ok(())
            }
        }
    }

    async fn ensure_kv(
        &self,
        service: &str,
        key: &str,
        e: &mut Entry,
    ) -> Result<(), RegistryError> {
        let http = &self.http;
        let base = self.opts.kv_base();
        let leaf = self.leaf(service, key);
        for _ in 0..3 {
            if !e.written {
                kv::put(http, base, BASE_DIR_VALUE.as_bytes(), None).await?;
                kv::put(http, &format!("{base}/{service}"), service.as_bytes(), None).await?;
                e.written = true;
            }
            let session = match e.session.clone() {
                Some(s) => s,
                // rpcx reuses the session already holding the key, else creates one.
                None => match kv::holder(http, &leaf).await? {
                    Some(s) => s,
                    None => kv::create_session(http, self.opts.ttl).await?,
                },
            };
            e.session = Some(session.clone());
            if !kv::renew_session(http, &session).await? {
                // Expired, or Consul lost its state: start over, directories included.
                e.session = None;
                e.written = false;
                continue;
            }
            if kv::put(http, &leaf, e.metadata.as_bytes(), Some(&session)).await? {
                return Ok(());
            }
            // Held by another live session (an earlier run of this server): adopt it.
            e.session = kv::holder(http, &leaf).await?.filter(|s| *s != session);
        }
        Err(RegistryError::Backend(format!("cannot acquire {leaf}")))
    }

    async fn remove(&self, service: &str, key: &str, e: Entry) -> Result<(), RegistryError> {
        match self.opts.mode {
            ConsulMode::Kv => {
                kv::delete(&self.http, &self.leaf(service, key)).await?;
                if let Some(s) = e.session {
                    kv::destroy_session(&self.http, &s).await?;
                }
                Ok(())
            }
            ConsulMode::Catalog => catalog::deregister(&self.http, service, key).await,
        }
    }

    async fn refresh_all(&self) -> Result<(), RegistryError> {
        let mut entries = self.entries.lock().await;
        let mut result = Ok(());
        for ((service, key), e) in entries.iter_mut() {
            if let Err(err) = self.ensure(service, key, e).await {
                let unreachable = err.is_unavailable();
                result = Err(err);
                if unreachable {
                    break;
                }
            }
        }
        result
    }
}

async fn refresh_loop(shared: Arc<Shared>) {
    let interval = shared.opts.interval;
    let mut backoff = Backoff::up_to(interval.min(std::time::Duration::from_secs(5)));
    let mut delay = interval;
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shared.retry.notified() => {}
        }
        match shared.refresh_all().await {
            Ok(()) => {
                if failing {
                    tracing::info!("Consul registry reachable again; entries written");
                }
                failing = false;
                backoff.reset();
                delay = interval;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "Consul registry unreachable; retrying with backoff");
                }
                failing = true;
                delay = backoff.next_delay();
            }
        }
    }
}

impl Registrar for ConsulRegistrar {
    fn register<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let s = &self.shared;
            let mut entries = s.entries.lock().await;
            let e = entries
                .entry((service.to_owned(), server_key.to_owned()))
                .or_default();
            if e.metadata != metadata {
                e.metadata = metadata.to_owned();
                if s.opts.mode == ConsulMode::Catalog {
                    e.written = false; // re-register with the new metadata
                }
            }
            let result = s.ensure(service, server_key, e).await;
            drop(entries);
            if result.is_err() {
                s.retry.notify_one();
            }
            result
        })
    }

    fn unregister<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let s = &self.shared;
            let mut entries = s.entries.lock().await;
            let e = entries
                .remove(&(service.to_owned(), server_key.to_owned()))
                .unwrap_or_default();
            s.remove(service, server_key, e).await
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async move {
            self.task.abort();
            let s = &self.shared;
            let all = std::mem::take(&mut *s.entries.lock().await);
            let mut result = Ok(());
            for ((service, key), e) in all {
                if let Err(err) = s.remove(&service, &key, e).await {
                    result = Err(err);
                }
            }
            result
        })
    }
}
