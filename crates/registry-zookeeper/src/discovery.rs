//! [`ZkDiscovery`]: the servers of one service, as children of a znode.

use crate::ZkOptions;
use crate::backoff::Backoff;
use crate::error::{is_session_lost, to_registry_error};
use crate::layout::service_node;
use fastrpc_discovery::{Discovery, RegistryError, ServerEntry, ServerList};
use futures_util::future::{BoxFuture, select_all};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zookeeper_client::{Client, Error as ZkError, WatchedEvent};

/// The client side of rpcx's ZooKeeper registry (Go's `ZookeeperDiscovery`): the children
/// of `/{base}/{service}` are the server keys and their data the metadata.
///
/// Like Go it watches the children (a server added or removed triggers a re-list). Unlike
/// Go it also watches the data of each child, so a server that changes its metadata (for
/// example `state=inactive`) is noticed at once rather than at the next re-list; every
/// [`ZkOptions::resync`] it lists again anyway.
///
/// While ZooKeeper is unreachable the last list stays. A lost session is replaced by a new
/// one, with backoff.
#[derive(Clone)]
pub struct ZkDiscovery {
    client: Client,
    options: Arc<ZkOptions>,
    rx: watch::Receiver<ServerList>,
    task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for ZkDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkDiscovery")
            .field("base_path", &self.options.base_path)
            .field("servers", &*self.rx.borrow())
            .finish_non_exhaustive()
    }
}

impl ZkDiscovery {
    /// Opens a session and lists `/{base}/{service_path}` once (failing with
    /// [`Unavailable`](RegistryError::Unavailable) if ZooKeeper does not answer), then keeps
    /// the list up to date in the background. Must be called inside a tokio runtime.
    pub async fn connect(
        options: ZkOptions,
        service_path: &str,
    ) -> Result<ZkDiscovery, RegistryError> {
        let options = Arc::new(options);
        let client = options.connect().await?;
        let dir = service_node(&options.base_path, service_path);
        let (list, _watches) = list_and_watch(&client, &dir, options.timeout)
            .await
            .map_err(to_registry_error)?;
        Ok(ZkDiscovery::spawn(client, options, dir, list))
    }

    fn spawn(
        client: Client,
        options: Arc<ZkOptions>,
        dir: String,
        first: ServerList,
    ) -> ZkDiscovery {
        let (tx, rx) = watch::channel(first);
        let task = tokio::spawn(run(client.clone(), options.clone(), dir, tx));
        ZkDiscovery {
            client,
            options,
            rx,
            task: Arc::new(AbortOnDrop(task)),
        }
    }
}

impl Discovery for ZkDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.rx.clone()
    }

    /// The discovery of another service under the same base path, sharing the session.
    /// It starts empty and fills as soon as its first listing answers. Must be called
    /// inside a tokio runtime.
    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery> {
        let dir = service_node(&self.options.base_path, service_path);
        Arc::new(ZkDiscovery::spawn(
            self.client.clone(),
            self.options.clone(),
            dir,
            Arc::from(Vec::new()),
        ))
    }

    fn close(&self) {
        self.task.0.abort();
    }
}

type Watches = Vec<BoxFuture<'static, WatchedEvent>>;

/// Lists the children of `dir` with their data, setting a watch on the children and on
/// each child's data; when `dir` does not exist yet, the list is empty and the watch waits
/// for its creation.
async fn list_and_watch(
    client: &Client,
    dir: &str,
    timeout: Duration,
) -> Result<(ServerList, Watches), ZkError> {
    let deadline = |f| async move {
        tokio::time::timeout(timeout, f)
            .await
            .unwrap_or(Err(ZkError::Timeout))
    };
    let mut watches: Watches = Vec::new();
    let children = match deadline(client.get_and_watch_children(dir)).await {
        Ok((children, _, watcher)) => {
            watches.push(Box::pin(watcher.changed()));
            children
        }
        Err(ZkError::NoNode) => {
            let (_, watcher) = tokio::time::timeout(timeout, client.check_and_watch_stat(dir))
                .await
                .unwrap_or(Err(ZkError::Timeout))?;
            watches.push(Box::pin(watcher.changed()));
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let mut list = Vec::with_capacity(children.len());
    for child in children {
        let path = format!("{dir}/{child}");
        match tokio::time::timeout(timeout, client.get_and_watch_data(&path))
            .await
            .unwrap_or(Err(ZkError::Timeout))
        {
            Ok((data, _, watcher)) => {
                watches.push(Box::pin(watcher.changed()));
                list.push(ServerEntry::new(
                    child,
                    String::from_utf8_lossy(&data).into_owned(),
                ));
            }
            // Deleted since the listing: the children watch fires.
            Err(ZkError::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    list.sort_by(|a, b| a.key().cmp(b.key()));
    Ok((list.into(), watches))
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

/// List, wait for a watch (or the resync period), list again; on a lost session open a new
/// one. Errors keep the last list.
async fn run(client: Client, options: Arc<ZkOptions>, dir: String, tx: watch::Sender<ServerList>) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(3));
    let mut client = Some(client);
    loop {
        let Some(c) = client.clone() else {
            match options.connect().await {
                Ok(c) => client = Some(c),
                Err(e) => {
                    tracing::debug!(%dir, error = %e, "zookeeper discovery: connect failed");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
            continue;
        };
        match list_and_watch(&c, &dir, options.timeout).await {
            Ok((list, watches)) => {
                publish(&tx, list);
                backoff.reset();
                tokio::select! {
                    (event, _, _) = select_all(watches) => {
                        if event.session_state.is_terminated() {
                            client = None;
                        }
                    }
                    _ = tokio::time::sleep(options.resync) => {}
                }
            }
            Err(e) => {
                tracing::debug!(%dir, error = %e, "zookeeper discovery: list failed; keeping the last list");
                if is_session_lost(&e) || c.state().is_terminated() {
                    client = None;
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}
