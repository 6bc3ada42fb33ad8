//! [`EtcdDiscovery`]: the servers of one service, listed and watched in etcd.

use crate::EtcdOptions;
use crate::error::{timed_out, to_registry_error};
use crate::layout::{discovery_dir, server_key_of};
use etcd_client::{Client, GetOptions, WatchOptions};
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{Discovery, RegistryError, ServerEntry, ServerList};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The client side of rpcx's etcd registry: a prefix `Get` of `{base}/{service}` turned into
/// server entries (Go's `EtcdV3Discovery`), then a prefix watch whose every event triggers a
/// full re-list.
///
/// While etcd is unreachable the last list stays; the watch is re-established with backoff
/// and the directory listed again as soon as etcd answers.
#[derive(Clone)]
pub struct EtcdDiscovery {
    client: Client,
    options: Arc<EtcdOptions>,
    rx: watch::Receiver<ServerList>,
    task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for EtcdDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdDiscovery")
            .field("base_path", &self.options.base_path)
            .field("servers", &*self.rx.borrow())
            .finish_non_exhaustive()
    }
}

impl EtcdDiscovery {
    /// Lists `{base}/{service_path}` once (failing with
    /// [`Unavailable`](RegistryError::Unavailable) if etcd does not answer), then keeps the
    /// list up to date in the background. Must be called inside a tokio runtime.
    pub async fn connect(
        options: EtcdOptions,
        service_path: &str,
    ) -> Result<EtcdDiscovery, RegistryError> {
        let options = Arc::new(options);
        let client = options.client().await?;
        let dir = discovery_dir(&options.base_path, service_path);
        let (list, revision) = crate::backoff::retry_unavailable(3 * options.timeout, || {
            list(&client, &dir, options.timeout)
        })
        .await?;
        Ok(EtcdDiscovery::spawn(
            client,
            options,
            dir,
            list,
            Some(revision),
        ))
    }

    fn spawn(
        client: Client,
        options: Arc<EtcdOptions>,
        dir: String,
        first: ServerList,
        revision: Option<i64>,
    ) -> EtcdDiscovery {
        let (tx, rx) = watch::channel(first);
        let task = tokio::spawn(run(client.clone(), options.clone(), dir, tx, revision));
        EtcdDiscovery {
            client,
            options,
            rx,
            task: Arc::new(AbortOnDrop(task)),
        }
    }
}

impl Discovery for EtcdDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.rx.clone()
    }

    /// The discovery of another service under the same base path, sharing the connection.
    /// It starts empty and fills as soon as its first listing answers (within moments).
    /// Must be called inside a tokio runtime.
    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery> {
        let dir = discovery_dir(&self.options.base_path, service_path);
        Arc::new(EtcdDiscovery::spawn(
            self.client.clone(),
            self.options.clone(),
            dir,
            Arc::from(Vec::new()),
            None,
        ))
    }

    fn close(&self) {
        self.task.0.abort();
    }
}

/// Lists `dir` (prefix `Get`), returning the servers under it and the store revision.
async fn list(
    client: &Client,
    dir: &str,
    timeout: Duration,
) -> Result<(ServerList, i64), RegistryError> {
    let mut kv = client.kv_client();
    let resp = tokio::time::timeout(timeout, kv.get(dir, Some(GetOptions::new().with_prefix())))
        .await
        .map_err(|_| timed_out("list"))?
        .map_err(to_registry_error)?;
    let revision = resp.header().map(|h| h.revision()).unwrap_or(0);
    let list = resp
        .kvs()
        .iter()
        .filter_map(|kv| {
            let key = std::str::from_utf8(kv.key()).ok()?;
            let server = server_key_of(dir, key)?;
            Some(ServerEntry::new(
                server,
                String::from_utf8_lossy(kv.value()).into_owned(),
            ))
        })
        .collect();
    Ok((list, revision))
}

/// Publishes `list` if it differs from the current one.
fn publish(tx: &watch::Sender<ServerList>, list: ServerList) {
    tx.send_if_modified(|current| {
        if *current == list {
            false
        } else {
            *current = list;
            true
        }
    });
}

/// Keeps the list current: watch from the listed revision; on any event list again; on a
/// broken watch list and watch again with backoff. Every `resync` the directory is listed
/// even when the watch is quiet.
async fn run(
    client: Client,
    options: Arc<EtcdOptions>,
    dir: String,
    tx: watch::Sender<ServerList>,
    mut revision: Option<i64>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(3));
    loop {
        let rev = match revision {
            Some(rev) => rev,
            None => match list(&client, &dir, options.timeout).await {
                Ok((list, rev)) => {
                    publish(&tx, list);
                    rev
                }
                Err(e) => {
                    tracing::debug!(%dir, error = %e, "etcd discovery: list failed; keeping the last list");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            },
        };
        revision = None;
        let watch_options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(rev + 1);
        let mut watch_client = client.watch_client();
        let stream = tokio::time::timeout(
            options.timeout,
            watch_client.watch(dir.as_str(), Some(watch_options)),
        )
        .await;
        let mut stream = match stream {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(%dir, error = %e, "etcd discovery: watch failed");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
            Err(_) => {
                tracing::debug!(%dir, "etcd discovery: watch timed out");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        loop {
            let relist = tokio::select! {
                msg = stream.message() => match msg {
                    Ok(Some(resp)) if resp.canceled() => false,
                    Ok(Some(resp)) => {
                        backoff.reset();
                        if resp.events().is_empty() {
                            continue;
                        }
                        true
                    }
                    Ok(None) | Err(_) => false,
                },
                _ = tokio::time::sleep(options.resync) => true,
            };
            if !relist {
                // The watch ended: list again (below, at the top) and watch again.
                tokio::time::sleep(backoff.next_delay()).await;
                break;
            }
            match list(&client, &dir, options.timeout).await {
                Ok((list, _)) => publish(&tx, list),
                Err(e) => {
                    tracing::debug!(%dir, error = %e, "etcd discovery: re-list failed; keeping the last list");
                    tokio::time::sleep(backoff.next_delay()).await;
                    break;
                }
            }
        }
    }
}
