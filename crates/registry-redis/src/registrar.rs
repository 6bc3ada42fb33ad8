//! [`RedisRegistrar`]: publishes a server's services in Redis, in rpcx's layout.

use crate::RedisOptions;
use crate::conn;
use crate::layout::{self, BASE_DIR_VALUE};
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{BoxFuture, Registrar, RegistryError};
use redis::aio::MultiplexedConnection;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

/// The server side of the Redis registry (rpcx's `RedisRegisterPlugin`).
///
/// Each service is written as three keys (`rpcx-protocol.md` §5.4): the base path
/// (`rpcx_path`) and the service (its name) without expiry, and the server entry with an
/// expiry of `ttl`. A background task renews every entry's expiry each `interval` and writes
/// back any entry that is missing (what a restarted Redis lost), keeping the value of one that
/// is there (rpcx-ui's rewrites survive, as with Go's plugin); while Redis is unreachable it
/// retries with backoff. [`close`](Registrar::close) deletes the entries; dropping the
/// registrar without closing it stops the refresh, and the entries expire after `ttl` (as when
/// the process is killed).
pub struct RedisRegistrar {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    opts: RedisOptions,
    /// (service, server key) -> metadata. The lock also orders writes against deletes, so
    /// a refresh never puts back an entry being unregistered.
    entries: Mutex<BTreeMap<(String, String), String>>,
    conn: Mutex<Option<MultiplexedConnection>>,
    /// Wakes the refresh task early (after a failed write).
    retry: Notify,
}

impl RedisRegistrar {
    /// A registrar with `opts`. Connects lazily; must be called inside a tokio runtime.
    pub fn new(opts: RedisOptions) -> Result<RedisRegistrar, RegistryError> {
        opts.validate()
            .map_err(|reason| RegistryError::InvalidUrl {
                url: format!("redis://{}", opts.hosts.join(",")),
                reason,
            })?;
        let shared = Arc::new(Shared {
            opts,
            entries: Mutex::new(BTreeMap::new()),
            conn: Mutex::new(None),
            retry: Notify::new(),
        });
        let task = tokio::spawn(refresh_loop(shared.clone()));
        Ok(RedisRegistrar { shared, task })
    }

    /// The options in use.
    pub fn options(&self) -> &RedisOptions {
        &self.shared.opts
    }
}

impl Drop for RedisRegistrar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for RedisRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRegistrar")
            .field("hosts", &self.shared.opts.hosts)
            .field("base_path", &self.shared.opts.base_path)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The cached connection, or a new one.
    async fn connection(&self) -> Result<MultiplexedConnection, RegistryError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let (_, c) = conn::connect(&self.opts).await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Runs `cmds` as one pipeline; forgets the connection when it failed.
    async fn run(&self, pipe: redis::Pipeline) -> Result<(), RegistryError> {
        let mut c = self.connection().await?;
        let result = conn::query_pipe::<()>(&mut c, &pipe, self.opts.timeout).await;
        if matches!(result, Err(RegistryError::Unavailable(_))) {
            *self.conn.lock().await = None;
        }
        result
    }

    /// Runs one command; forgets the connection when it failed.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RegistryError> {
        let mut c = self.connection().await?;
        let result = conn::query::<T>(&mut c, cmd, self.opts.timeout).await;
        if matches!(result, Err(RegistryError::Unavailable(_))) {
            *self.conn.lock().await = None;
        }
        result
    }

    /// Adds the writes of one entry (directories without expiry, the leaf with `ttl`).
    fn put_entry(&self, pipe: &mut redis::Pipeline, service: &str, key: &str, meta: &str) {
        let base = &self.opts.base_path;
        let index = layout::last_index_now();
        let leaf = layout::entry_key(base, service, key);
        self.put_dirs(pipe, service, index);
        pipe.cmd("SET")
            .arg(layout::normalize(&leaf))
            .arg(layout::encode_kv_pair(&leaf, meta.as_bytes(), index))
            .arg("PX")
            .arg(self.opts.ttl.as_millis() as u64)
            .ignore();
    }

    /// Adds the writes of the base path and service "directories" (no expiry).
    fn put_dirs(&self, pipe: &mut redis::Pipeline, service: &str, index: u64) {
        let base = &self.opts.base_path;
        let dir = layout::service_key(base, service);
        pipe.cmd("SET")
            .arg(layout::normalize(base))
            .arg(layout::encode_kv_pair(
                base,
                BASE_DIR_VALUE.as_bytes(),
                index,
            ))
            .ignore();
        pipe.cmd("SET")
            .arg(layout::normalize(&dir))
            .arg(layout::encode_kv_pair(&dir, service.as_bytes(), index))
            .ignore();
    }

    /// Refreshes every entry (refresh and recovery), as Go's plugin does: an entry still in
    /// Redis keeps its value (which rpcx-ui or `fastrpc ui` may have rewritten, e.g.
    /// `state=inactive`) and gets its expiry renewed; a missing one is written again.
    async fn write_all(&self) -> Result<(), RegistryError> {
        let entries = self.entries.lock().await;
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for ((service, key), meta) in entries.iter() {
            self.refresh_entry(&mut pipe, service, key, meta);
        }
        self.run(pipe).await
    }

    /// Adds the refresh of one entry: directories as on register, the leaf only created
    /// when missing (`SET .. NX`) and its expiry renewed either way.
    fn refresh_entry(&self, pipe: &mut redis::Pipeline, service: &str, key: &str, meta: &str) {
        let base = &self.opts.base_path;
        let index = layout::last_index_now();
        let leaf = layout::entry_key(base, service, key);
        let ttl = self.opts.ttl.as_millis() as u64;
        self.put_dirs(pipe, service, index);
        pipe.cmd("SET")
            .arg(layout::normalize(&leaf))
            .arg(layout::encode_kv_pair(&leaf, meta.as_bytes(), index))
            .arg("PX")
            .arg(ttl)
            .arg("NX")
            .ignore();
        pipe.cmd("PEXPIRE")
            .arg(layout::normalize(&leaf))
            .arg(ttl)
            .ignore();
    }

    async fn delete(&self, service: &str, key: &str) -> Result<(), RegistryError> {
        let leaf = layout::entry_key(&self.opts.base_path, service, key);
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(layout::normalize(&leaf)).ignore();
        self.run(pipe).await
    }
}

async fn refresh_loop(shared: Arc<Shared>) {
    let mut backoff = Backoff::up_to(shared.opts.interval.min(std::time::Duration::from_secs(5)));
    let mut delay = shared.opts.interval;
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shared.retry.notified() => {}
        }
        match shared.write_all().await {
            Ok(()) => {
                if failing {
                    tracing::info!("Redis registry reachable again; entries written");
                }
                failing = false;
                backoff.reset();
                delay = shared.opts.interval;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "Redis registry unreachable; retrying with backoff");
                }
                failing = true;
                delay = backoff.next_delay();
            }
        }
    }
}

impl Registrar for RedisRegistrar {
    fn register<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let s = &self.shared;
            let mut entries = s.entries.lock().await;
            entries.insert(
                (service.to_owned(), server_key.to_owned()),
                metadata.to_owned(),
            );
            let mut pipe = redis::pipe();
            s.put_entry(&mut pipe, service, server_key, metadata);
            let result = s.run(pipe).await;
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
            entries.remove(&(service.to_owned(), server_key.to_owned()));
            s.delete(service, server_key).await
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async move {
            self.task.abort();
            let s = &self.shared;
            let mut entries = s.entries.lock().await;
            let all = std::mem::take(&mut *entries);
            if all.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            for (service, key) in all.keys() {
                let leaf = layout::entry_key(&s.opts.base_path, service, key);
                pipe.cmd("DEL").arg(layout::normalize(&leaf)).ignore();
            }
            s.run(pipe).await
        })
    }

    /// rpcx-ui's write: the leaf set to the new metadata (a KVPair as libkv writes it), only
    /// if it exists (`XX`) and keeping its expiry (`KEEPTTL`, Redis 6+), so the entry still
    /// expires with its server.
    fn update_metadata<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let s = &self.shared;
            let leaf = layout::entry_key(&s.opts.base_path, service, server_key);
            let index = layout::last_index_now();
            let mut set = redis::cmd("SET");
            set.arg(layout::normalize(&leaf))
                .arg(layout::encode_kv_pair(&leaf, metadata.as_bytes(), index))
                .arg("XX")
                .arg("KEEPTTL");
            let done: Option<String> = s.query(&set).await?;
            match done {
                Some(_) => Ok(()),
                None => Err(RegistryError::NotFound(leaf)),
            }
        })
    }

    /// The services with at least one server entry (`SCAN` of the base path's keys).
    fn services(&self) -> BoxFuture<'_, Result<Vec<String>, RegistryError>> {
        Box::pin(async move {
            let s = &self.shared;
            let prefix = format!("{}/", layout::normalize(&s.opts.base_path));
            let pattern = format!("{}*", layout::glob_escape(&prefix));
            let mut names = std::collections::BTreeSet::new();
            let mut cursor = 0u64;
            loop {
                let mut scan = redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(100);
                let (next, batch): (u64, Vec<String>) = s.query(&scan).await?;
                for key in batch {
                    if let Some((service, server)) = key
                        .strip_prefix(prefix.as_str())
                        .and_then(|r| r.split_once('/'))
                        && !service.is_empty()
                        && !server.is_empty()
                    {
                        names.insert(service.to_owned());
                    }
                }
                if names.len() > s.opts.max_entries {
                    return Err(RegistryError::Backend(format!(
                        "more than {} services under {}",
                        s.opts.max_entries, s.opts.base_path
                    )));
                }
                cursor = next;
                if cursor == 0 {
                    return Ok(names.into_iter().collect());
                }
            }
        })
    }
}
