//! [`RedisDiscovery`]: the servers of one service, listed from Redis and watched through
//! keyspace notifications.

use crate::conn;
use crate::{RedisOptions, layout};
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{Discovery, RegistryError, ServerEntry, ServerList};
use futures_util::{FutureExt, StreamExt};
use redis::aio::{MultiplexedConnection, PubSubStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The client side of the Redis registry (rpcx's `RedisDiscovery`).
///
/// Lists `{base}/{service}` as rpcx does (`SCAN` of the normalised prefix, then `MGET`, each
/// value a JSON KVPair) and re-lists on every keyspace notification of that prefix (it runs
/// `CONFIG SET notify-keyspace-events KEA` and `PSUBSCRIBE __keyspace*:{prefix}/*`), plus
/// every `resync` as a safety net. While Redis is unreachable it keeps the last list and
/// reconnects with backoff; when Redis comes back *empty* (restarted without persistence) it
/// keeps a non-empty list for up to `grace`, giving registrars time to write their entries
/// again. Clones share one background task, which stops when the last clone is dropped or
/// [`close`](Discovery::close) is called.
#[derive(Clone)]
pub struct RedisDiscovery {
    inner: Arc<Inner>,
    rx: watch::Receiver<ServerList>,
}

struct Inner {
    opts: RedisOptions,
    service: String,
    runtime: Handle,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RedisDiscovery {
    /// Connects, lists the servers of `service` and starts watching.
    ///
    /// Fails with [`RegistryError::Unavailable`] when no Redis host answers (as rpcx's
    /// constructor does); after that, outages are ridden out.
    pub async fn connect(
        opts: RedisOptions,
        service: &str,
    ) -> Result<RedisDiscovery, RegistryError> {
        opts.validate()
            .map_err(|reason| RegistryError::InvalidUrl {
                url: format!("redis://{}", opts.hosts.join(",")),
                reason,
            })?;
        let dir = layout::service_key(&opts.base_path, service);
        let (tx, rx) = watch::channel(ServerList::from(Vec::new()));
        let mut session = Session::open(&opts, &dir).await?;
        let first = session.list(&opts, &dir).await?;
        tx.send_replace(first.into());
        Ok(RedisDiscovery::spawn(opts, service, tx, rx, Some(session)))
    }

    /// A discovery that connects in the background (empty until the first listing).
    fn background(opts: RedisOptions, service: &str, runtime: &Handle) -> RedisDiscovery {
        let _guard = runtime.enter();
        let (tx, rx) = watch::channel(ServerList::from(Vec::new()));
        RedisDiscovery::spawn(opts, service, tx, rx, None)
    }

    fn spawn(
        opts: RedisOptions,
        service: &str,
        tx: watch::Sender<ServerList>,
        rx: watch::Receiver<ServerList>,
        session: Option<Session>,
    ) -> RedisDiscovery {
        let dir = layout::service_key(&opts.base_path, service);
        let task = tokio::spawn(run(opts.clone(), dir, tx, session));
        RedisDiscovery {
            inner: Arc::new(Inner {
                opts,
                service: service.to_owned(),
                runtime: Handle::current(),
                task,
            }),
            rx,
        }
    }

    /// The service this discovery lists.
    pub fn service(&self) -> &str {
        &self.inner.service
    }
}

impl std::fmt::Debug for RedisDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDiscovery")
            .field("service", &self.inner.service)
            .field("servers", &*self.rx.borrow())
            .finish()
    }
}

impl Discovery for RedisDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.rx.clone()
    }

    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery> {
        Arc::new(RedisDiscovery::background(
            self.inner.opts.clone(),
            service_path,
            &self.inner.runtime,
        ))
    }

    fn close(&self) {
        self.inner.task.abort();
    }
}

/// One connection to Redis: a command connection and the keyspace-notification stream.
struct Session {
    conn: MultiplexedConnection,
    events: PubSubStream,
}

impl Session {
    async fn open(opts: &RedisOptions, dir: &str) -> Result<Session, RegistryError> {
        let (client, mut conn) = conn::connect(opts).await?;
        let mut config = redis::cmd("CONFIG");
        config.arg("SET").arg("notify-keyspace-events").arg("KEA");
        if let Err(e) = conn::query::<()>(&mut conn, &config, opts.timeout).await {
            // A managed Redis may forbid CONFIG: the periodic re-list still finds changes.
            tracing::debug!(error = %e, "cannot enable keyspace notifications");
        }
        let pattern = format!(
            "__keyspace*:{}/*",
            layout::glob_escape(&layout::normalize(dir))
        );
        let subscribe = async {
            let mut pubsub = client.get_async_pubsub().await.map_err(conn::error)?;
            pubsub.psubscribe(&pattern).await.map_err(conn::error)?;
            Ok::<_, RegistryError>(pubsub.into_on_message())
        };
        let events = tokio::time::timeout(opts.timeout, subscribe)
            .await
            .map_err(|_| RegistryError::Unavailable("PSUBSCRIBE timed out".into()))??;
        Ok(Session { conn, events })
    }

    /// `SCAN` + `MGET` of the directory, decoded and sorted by server key.
    async fn list(
        &mut self,
        opts: &RedisOptions,
        dir: &str,
    ) -> Result<Vec<ServerEntry>, RegistryError> {
        let keys = self.scan(opts, dir).await?;
        let mut entries = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut lens = redis::pipe();
            for k in chunk {
                lens.cmd("STRLEN").arg(k);
            }
            let lens: Vec<u64> = conn::query_pipe(&mut self.conn, &lens, opts.timeout).await?;
            let wanted: Vec<&String> = chunk
                .iter()
                .zip(lens)
                .filter(|(_, len)| (1..=opts.max_value_bytes as u64).contains(len))
                .map(|(k, _)| k)
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let mut mget = redis::cmd("MGET");
            mget.arg(&wanted);
            let values: Vec<Option<Vec<u8>>> =
                conn::query(&mut self.conn, &mget, opts.timeout).await?;
            for value in values.into_iter().flatten() {
                let Some(pair) = layout::decode_kv_pair(&value) else {
                    continue;
                };
                if let Some(key) = layout::server_key_of(dir, &pair.key) {
                    entries.push(ServerEntry::new(key, String::from_utf8_lossy(&pair.value)));
                }
            }
        }
        entries.sort_by(|a, b| a.key().cmp(b.key()));
        entries.dedup_by(|a, b| a.key() == b.key());
        Ok(entries)
    }

    async fn scan(&mut self, opts: &RedisOptions, dir: &str) -> Result<Vec<String>, RegistryError> {
        let pattern = format!("{}/*", layout::glob_escape(&layout::normalize(dir)));
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(100);
            let (next, batch): (u64, Vec<String>) =
                conn::query(&mut self.conn, &scan, opts.timeout).await?;
            keys.extend(batch);
            if keys.len() > opts.max_entries {
                return Err(RegistryError::Backend(format!(
                    "more than {} entries under {dir}",
                    opts.max_entries
                )));
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(keys)
    }

    /// Lists and publishes until the connection is lost (the error says why).
    async fn follow(
        &mut self,
        opts: &RedisOptions,
        dir: &str,
        tx: &watch::Sender<ServerList>,
        reconnected_at: Option<Instant>,
    ) -> RegistryError {
        let mut holding = false;
        loop {
            match self.list(opts, dir).await {
                Ok(list) => holding = publish(tx, list, reconnected_at, opts.grace),
                Err(e @ RegistryError::Unavailable(_)) => return e,
                Err(e) => {
                    tracing::debug!(error = %e, %dir, "listing failed; keeping the last list")
                }
            }
            let wait = if holding {
                Duration::from_millis(500)
            } else {
                opts.resync
            };
            tokio::select! {
                event = self.events.next() => {
                    if event.is_none() {
                        return RegistryError::Unavailable("notification connection closed".into());
                    }
                    // Coalesce a burst of events into one listing.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    while let Some(Some(_)) = self.events.next().now_or_never() {}
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Publishes `list` if it changed; returns true when an empty list is being held back
/// because Redis came back empty less than `grace` ago.
fn publish(
    tx: &watch::Sender<ServerList>,
    list: Vec<ServerEntry>,
    reconnected_at: Option<Instant>,
    grace: Duration,
) -> bool {
    let current = tx.borrow().clone();
    if list.is_empty() && !current.is_empty() && reconnected_at.is_some_and(|t| t.elapsed() < grace)
    {
        return true;
    }
    if *current != *list {
        tx.send_replace(list.into());
    }
    false
}

async fn run(
    opts: RedisOptions,
    dir: String,
    tx: watch::Sender<ServerList>,
    mut first: Option<Session>,
) {
    let mut backoff = Backoff::up_to(Duration::from_secs(5));
    let mut lost = false;
    let mut reconnected_at = None;
    loop {
        let mut session = match first.take() {
            Some(s) => s,
            None => match Session::open(&opts, &dir).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, %dir, "Redis unreachable; keeping the last list");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            },
        };
        if lost {
            tracing::info!(%dir, "Redis registry reachable again");
            reconnected_at = Some(Instant::now());
        }
        backoff.reset();
        let e = session.follow(&opts, &dir, &tx, reconnected_at).await;
        tracing::warn!(error = %e, %dir, "lost the Redis registry; keeping the last list and reconnecting");
        lost = true;
    }
}
