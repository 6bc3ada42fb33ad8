//! [`ZkDiscovery`]: the servers of one service, as children of a znode.

use crate::ZkOptions;
use crate::error::{is_session_lost, to_registry_error};
use crate::layout::service_node;
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{Discovery, RegistryError, ServerEntry, ServerList};
use futures_util::future::{BoxFuture, select_all};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zookeeper_client::{Client, Error as ZkError, EventType, WatchedEvent};

/// The client side of rpcx's ZooKeeper registry (Go's `ZookeeperDiscovery`): the children
/// of `/{base}/{service}` are the server keys and their data the metadata.
///
/// Like Go it watches the children (a server added or removed triggers a re-list). Unlike
/// Go it also watches the data of each child, so a server that changes its metadata (for
/// example `state=inactive`) is noticed at once rather than at the next re-list; only that
/// child is read again. Every [`ZkOptions::resync`] it lists again anyway.
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
        let list = list_and_watch(&client, &dir, options.timeout)
            .await
            .map_err(to_registry_error)?
            .list();
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

/// A pending watch: `Some(child)` for a child's data watch, `None` for the directory's.
type Watch = BoxFuture<'static, (Option<String>, WatchedEvent)>;

/// What a discovery knows of its directory: child name -> data, and the watches set.
#[derive(Default)]
struct Listing {
    children: BTreeMap<String, String>,
    watches: Vec<Watch>,
}

impl Listing {
    fn list(&self) -> ServerList {
        self.children
            .iter()
            .map(|(k, v)| ServerEntry::new(k.as_str(), v.as_str()))
            .collect()
    }
}

async fn deadline<T>(
    timeout: Duration,
    f: impl Future<Output = Result<T, ZkError>>,
) -> Result<T, ZkError> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or(Err(ZkError::Timeout))
}

/// Reads one child's data and watches it. `Ok(None)` when it is gone.
async fn read_child(
    client: &Client,
    dir: &str,
    child: &str,
    timeout: Duration,
) -> Result<Option<(String, Watch)>, ZkError> {
    let path = format!("{dir}/{child}");
    match deadline(timeout, client.get_and_watch_data(&path)).await {
        Ok((data, _, watcher)) => {
            let name = child.to_owned();
            let watch: Watch = Box::pin(async move { (Some(name), watcher.changed().await) });
            Ok(Some((String::from_utf8_lossy(&data).into_owned(), watch)))
        }
        Err(ZkError::NoNode) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Lists the children of `dir` with their data (Go's `List`: `Children`, then `Get` of each),
/// watching the children and each child's data; when `dir` does not exist yet, the list is
/// empty and the watch waits for its creation.
async fn list_and_watch(client: &Client, dir: &str, timeout: Duration) -> Result<Listing, ZkError> {
    let mut listing = Listing::default();
    let names = match deadline(timeout, client.get_and_watch_children(dir)).await {
        Ok((names, _, watcher)) => {
            listing
                .watches
                .push(Box::pin(async move { (None, watcher.changed().await) }));
            names
        }
        Err(ZkError::NoNode) => {
            let (_, watcher) = deadline(timeout, client.check_and_watch_stat(dir)).await?;
            listing
                .watches
                .push(Box::pin(async move { (None, watcher.changed().await) }));
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    for name in names {
        // A child deleted since the listing is skipped: the children watch fires.
        if let Some((data, watch)) = read_child(client, dir, &name, timeout).await? {
            listing.children.insert(name, data);
            listing.watches.push(watch);
        }
    }
    Ok(listing)
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

/// Why watching stopped.
enum Next {
    /// List the whole directory again.
    Relist,
    /// The session is gone: open a new one, then list.
    Reconnect,
}

/// Waits on the watches of `listing`, keeping it current: a child's data change re-reads
/// that child only (a Go server rewrites its data every interval: a full re-list each time
/// would cost O(servers) requests per server per interval); anything else (children
/// added or removed, the directory created) asks for a full re-list.
async fn follow(
    client: &Client,
    dir: &str,
    timeout: Duration,
    mut listing: Listing,
    tx: &watch::Sender<ServerList>,
) -> Next {
    loop {
        let watches = std::mem::take(&mut listing.watches);
        if watches.is_empty() {
            // Not expected (the directory's watch ends the loop), and select_all needs one.
            return Next::Relist;
        }
        let ((child, event), _, rest) = select_all(watches).await;
        listing.watches = rest;
        if event.session_state.is_terminated() {
            return Next::Reconnect;
        }
        let Some(child) = child.filter(|_| event.event_type == EventType::NodeDataChanged) else {
            return Next::Relist;
        };
        match read_child(client, dir, &child, timeout).await {
            Ok(Some((data, watch))) => {
                listing.children.insert(child, data);
                listing.watches.push(watch);
                publish(tx, listing.list());
            }
            Ok(None) => return Next::Relist,
            Err(e) if is_session_lost(&e) => return Next::Reconnect,
            Err(_) => return Next::Relist,
        }
    }
}

/// List, follow the watches (or wait for the resync period), list again; on a lost session
/// open a new one. Errors keep the last list.
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
            Ok(listing) => {
                publish(&tx, listing.list());
                backoff.reset();
                let next = tokio::select! {
                    next = follow(&c, &dir, options.timeout, listing, &tx) => next,
                    _ = tokio::time::sleep(options.resync) => Next::Relist,
                };
                if matches!(next, Next::Reconnect) {
                    client = None;
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
