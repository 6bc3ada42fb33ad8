//! [`ZkRegistrar`]: publishes a server's services as znodes.

use crate::ZkOptions;
use crate::error::{is_session_lost, timed_out, to_registry_error};
use crate::layout::{BASE_PATH_VALUE, base_node, server_node, service_node};
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{BoxFuture, Registrar, RegistryError};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use zookeeper_client::{Acls, Client, CreateMode, Error as ZkError};

/// The server side of rpcx's ZooKeeper registry (Go's `ZooKeeperRegisterPlugin`).
///
/// For every registered service it writes the persistent znodes `/{base}` (data
/// `rpcx_path`) and `/{base}/{service}` (data: the service name), and the leaf
/// `/{base}/{service}/{server_key}` holding the metadata: **ephemeral** (it vanishes with
/// the session) when [`ZkOptions::interval`] is non-zero, persistent otherwise, as in Go.
/// ACL `world:anyone` with all permissions.
///
/// A background task checks the entries every interval and re-creates any that is missing.
/// When the session expires (ZooKeeper unreachable for longer than the session timeout) it
/// opens a new session with backoff and re-creates every entry.
///
/// [`close`](Registrar::close) deletes the leaves and closes the session. Dropping the
/// registrar without closing it also closes the session (which removes ephemeral leaves at
/// once); a crashed process leaves them until its session times out.
pub struct ZkRegistrar {
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

struct Inner {
    options: ZkOptions,
    /// (service, server key) -> metadata: what must be in ZooKeeper.
    entries: Mutex<BTreeMap<(String, String), String>>,
    /// The current session; held while writing so writes and re-creation are ordered.
    client: tokio::sync::Mutex<Option<Client>>,
    /// Woken when a write finds the session gone.
    session_lost: Notify,
}

impl std::fmt::Debug for ZkRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkRegistrar")
            .field("base_path", &self.inner.options.base_path)
            .field("entries", &self.inner.entries())
            .finish_non_exhaustive()
    }
}

impl ZkRegistrar {
    /// Opens a session (failing with [`Unavailable`](RegistryError::Unavailable) if no
    /// server answers within about the session timeout), then keeps the entries in place in
    /// the background. Must be called inside a tokio runtime.
    pub async fn connect(options: ZkOptions) -> Result<ZkRegistrar, RegistryError> {
        let client = options.connect().await?;
        let inner = Arc::new(Inner {
            options,
            entries: Mutex::new(BTreeMap::new()),
            client: tokio::sync::Mutex::new(Some(client)),
            session_lost: Notify::new(),
        });
        let task = tokio::spawn(keep_registered(inner.clone()));
        Ok(ZkRegistrar { inner, task })
    }

    /// The id of the current ZooKeeper session (the owner of the ephemeral leaves).
    pub async fn session_id(&self) -> Option<i64> {
        self.inner
            .client
            .lock()
            .await
            .as_ref()
            .map(|c| c.session_id().0)
    }
}

impl Drop for ZkRegistrar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Inner {
    fn entries(&self) -> Vec<((String, String), String)> {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    async fn deadline<T>(&self, f: impl Future<Output = Result<T, ZkError>>) -> Result<T, ZkError> {
        tokio::time::timeout(self.options.timeout, f)
            .await
            .unwrap_or(Err(ZkError::Timeout))
    }

    /// Creates `path` and its missing ancestors (empty data, as libkv's `createFullPath`)
    /// as persistent nodes, then sets its data to `value` (Go's `Put` with `IsDir`).
    async fn put_dir(&self, client: &Client, path: &str, value: &str) -> Result<(), ZkError> {
        let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
        for (i, _) in path.match_indices('/').skip(1) {
            match self
                .deadline(client.create(&path[..i], b"", &persistent))
                .await
            {
                Ok(_) | Err(ZkError::NodeExists) => {}
                Err(e) => return Err(e),
            }
        }
        match self
            .deadline(client.create(path, value.as_bytes(), &persistent))
            .await
        {
            Ok(_) => Ok(()),
            Err(ZkError::NodeExists) => self
                .deadline(client.set_data(path, value.as_bytes(), None))
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        }
    }

    /// Makes the leaf of one entry hold `metadata` in the right mode: kept when this session
    /// owns it (its data set if it differs, unless `keep_data`: a refresh keeps what rpcx-ui
    /// or `fastrpc ui` wrote, as Go's plugin does), else deleted and created again.
    async fn sync_leaf(
        &self,
        client: &Client,
        path: &str,
        metadata: &str,
        keep_data: bool,
    ) -> Result<(), ZkError> {
        let owner = if self.options.ephemeral() {
            client.session_id().0
        } else {
            0
        };
        match self.deadline(client.get_data(path)).await {
            Ok((data, stat)) if stat.ephemeral_owner == owner => {
                if !keep_data && data != metadata.as_bytes() {
                    self.deadline(client.set_data(path, metadata.as_bytes(), None))
                        .await?;
                }
                return Ok(());
            }
            Ok(_) => match self.deadline(client.delete(path, None)).await {
                Ok(()) | Err(ZkError::NoNode) => {}
                Err(e) => return Err(e),
            },
            Err(ZkError::NoNode) => {}
            Err(e) => return Err(e),
        }
        let mode = if self.options.ephemeral() {
            CreateMode::Ephemeral
        } else {
            CreateMode::Persistent
        };
        self.deadline(client.create(
            path,
            metadata.as_bytes(),
            &mode.with_acls(Acls::anyone_all()),
        ))
        .await
        .map(|_| ())
    }

    /// Go's `Register`: the two directories, then the leaf.
    async fn write_entry(
        &self,
        client: &Client,
        service: &str,
        server_key: &str,
        metadata: &str,
    ) -> Result<(), ZkError> {
        let base = &self.options.base_path;
        self.put_dir(client, &base_node(base), BASE_PATH_VALUE)
            .await?;
        self.put_dir(client, &service_node(base, service), service)
            .await?;
        self.sync_leaf(
            client,
            &server_node(base, service, server_key),
            metadata,
            false,
        )
        .await
    }

    /// Every entry checked; a missing leaf is written again with its directories.
    async fn refresh(&self, client: &Client) -> Result<(), ZkError> {
        let base = &self.options.base_path;
        for ((service, server_key), metadata) in self.entries() {
            let leaf = server_node(base, &service, &server_key);
            match self.sync_leaf(client, &leaf, &metadata, true).await {
                Err(ZkError::NoNode) => {
                    tracing::info!(%service, %server_key, "zookeeper registrar: entry was missing; writing it again");
                    self.write_entry(client, &service, &server_key, &metadata)
                        .await?
                }
                other => other?,
            }
        }
        Ok(())
    }

    fn write_error(&self, e: ZkError) -> RegistryError {
        if is_session_lost(&e) {
            self.session_lost.notify_one();
        }
        to_registry_error(e)
    }
}

/// Waits until the session of `client` ends for good (expired, closed, auth failed).
async fn session_end(client: &Client) {
    let mut states = client.state_watcher();
    if states.peek_state().is_terminated() {
        return;
    }
    while !states.changed().await.is_terminated() {}
}

/// The background task: periodic refresh, and a new session (with every entry re-created)
/// when the old one is lost.
async fn keep_registered(inner: Arc<Inner>) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(3));
    let period = if inner.options.interval.is_zero() {
        Duration::from_secs(3600)
    } else {
        inner.options.interval
    };
    let mut refresh = tokio::time::interval(period);
    refresh.reset();
    loop {
        let client = inner.client.lock().await.clone();
        if let Some(client) = client {
            let lost = tokio::select! {
                _ = session_end(&client) => true,
                _ = inner.session_lost.notified() => true,
                _ = refresh.tick() => {
                    let _guard = inner.client.lock().await;
                    match inner.refresh(&client).await {
                        Ok(()) => false,
                        Err(e) => {
                            tracing::debug!(error = %e, "zookeeper registrar: refresh failed");
                            is_session_lost(&e)
                        }
                    }
                }
            };
            if !lost {
                continue;
            }
            tracing::warn!(
                "zookeeper registrar: session lost; opening a new one and registering again"
            );
            *inner.client.lock().await = None;
        }
        // A new session, then every entry written again, with backoff until it works.
        loop {
            match inner.options.connect().await {
                Ok(client) => {
                    let mut guard = inner.client.lock().await;
                    let mut result = Ok(());
                    for ((service, key), metadata) in inner.entries() {
                        result = inner.write_entry(&client, &service, &key, &metadata).await;
                        if result.is_err() {
                            break;
                        }
                    }
                    match result {
                        Err(e) if is_session_lost(&e) => {
                            tracing::debug!(error = %e, "zookeeper registrar: re-registering failed");
                        }
                        other => {
                            // Other failures are repaired by the periodic refresh.
                            if let Err(e) = other {
                                tracing::debug!(error = %e, "zookeeper registrar: re-registering incomplete");
                            }
                            *guard = Some(client);
                            backoff.reset();
                            break;
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "zookeeper registrar: connect failed"),
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}

impl Registrar for ZkRegistrar {
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
            let guard = inner.client.lock().await;
            let client = guard.as_ref().ok_or_else(|| {
                RegistryError::Unavailable(
                    "zookeeper: no session; the entry is written when one is open".into(),
                )
            })?;
            inner
                .write_entry(client, service, server_key, metadata)
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
            let guard = inner.client.lock().await;
            let client = guard
                .as_ref()
                .ok_or_else(|| timed_out("unregister (no session)"))?;
            let leaf = server_node(&inner.options.base_path, service, server_key);
            match inner.deadline(client.delete(&leaf, None)).await {
                Ok(()) | Err(ZkError::NoNode) => Ok(()),
                Err(e) => Err(inner.write_error(e)),
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async move {
            self.task.abort();
            let inner = &self.inner;
            let entries =
                std::mem::take(&mut *inner.entries.lock().unwrap_or_else(|p| p.into_inner()));
            let mut guard = inner.client.lock().await;
            let Some(client) = guard.take() else {
                return Ok(());
            };
            let mut first_error = None;
            for (service, server_key) in entries.keys() {
                let leaf = server_node(&inner.options.base_path, service, server_key);
                match inner.deadline(client.delete(&leaf, None)).await {
                    Ok(()) | Err(ZkError::NoNode) => {}
                    Err(e) => {
                        first_error.get_or_insert(to_registry_error(e));
                    }
                }
            }
            // Dropping the last handle closes the session.
            drop(client);
            first_error.map_or(Ok(()), Err)
        })
    }

    /// rpcx-ui's write: the leaf's data set to the new metadata. The node keeps its mode
    /// and owner (an ephemeral leaf still vanishes with its server's session).
    fn update_metadata<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let inner = &self.inner;
            let guard = inner.client.lock().await;
            let client = guard
                .as_ref()
                .ok_or_else(|| timed_out("update (no session)"))?;
            let leaf = server_node(&inner.options.base_path, service, server_key);
            match inner
                .deadline(client.set_data(&leaf, metadata.as_bytes(), None))
                .await
            {
                Ok(_) => Ok(()),
                Err(ZkError::NoNode) => Err(RegistryError::NotFound(leaf)),
                Err(e) => Err(inner.write_error(e)),
            }
        })
    }

    /// The children of the base path that have at least one server child.
    fn services(&self) -> BoxFuture<'_, Result<Vec<String>, RegistryError>> {
        Box::pin(async move {
            let inner = &self.inner;
            let guard = inner.client.lock().await;
            let client = guard
                .as_ref()
                .ok_or_else(|| timed_out("list (no session)"))?;
            let base = base_node(&inner.options.base_path);
            let children = match inner.deadline(client.get_children(&base)).await {
                Ok((children, _)) => children,
                Err(ZkError::NoNode) => return Ok(Vec::new()),
                Err(e) => return Err(to_registry_error(e)),
            };
            let mut names = Vec::new();
            for child in children {
                let dir = service_node(&inner.options.base_path, &child);
                match inner.deadline(client.check_stat(&dir)).await {
                    Ok(Some(stat)) if stat.num_children > 0 => names.push(child),
                    Ok(_) | Err(ZkError::NoNode) => {}
                    Err(e) => return Err(to_registry_error(e)),
                }
            }
            names.sort();
            Ok(names)
        })
    }
}
