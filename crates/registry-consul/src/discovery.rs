//! [`ConsulDiscovery`]: the servers of one service, watched with blocking queries.

use crate::http::ConsulHttp;
use crate::{ConsulMode, ConsulOptions, catalog, kv};
use fastrpc_discovery::Backoff;
use fastrpc_discovery::{Discovery, RegistryError, ServerEntry, ServerList};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The client side of the Consul registry.
///
/// KV mode (rpcx's `ConsulDiscovery`): lists `{base}/{service}` recursively (leading `/` of
/// the base dropped), keeps the keys under `{base}/{service}/` and strips that prefix, then
/// repeats the listing as a blocking query (`?index=&wait=`) to follow changes. Catalog mode:
/// the passing instances of `service` from `/v1/health/service/{service}?passing=true`.
///
/// While Consul is unreachable it keeps the last list and retries with backoff; when Consul
/// comes back *empty* (a restarted dev agent), it keeps a non-empty list for up to `grace`.
/// Clones share one background task, stopped when the last clone is dropped or on
/// [`close`](Discovery::close).
#[derive(Clone)]
pub struct ConsulDiscovery {
    inner: Arc<Inner>,
    rx: watch::Receiver<ServerList>,
}

struct Inner {
    opts: ConsulOptions,
    http: Arc<ConsulHttp>,
    service: String,
    runtime: Handle,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fetch(
    opts: &ConsulOptions,
    http: &ConsulHttp,
    service: &str,
    block: Option<(u64, Duration)>,
) -> Result<(Vec<ServerEntry>, u64), RegistryError> {
    match opts.mode {
        ConsulMode::Kv => kv::list(http, &format!("{}/{service}", opts.kv_base()), block).await,
        ConsulMode::Catalog => catalog::list(http, service, block).await,
    }
}

impl ConsulDiscovery {
    /// Lists the servers of `service` and starts watching. Fails with
    /// [`RegistryError::Unavailable`] when no agent answers (as rpcx's constructor does).
    pub async fn connect(
        opts: ConsulOptions,
        service: &str,
    ) -> Result<ConsulDiscovery, RegistryError> {
        opts.validate()
            .map_err(|reason| RegistryError::InvalidUrl {
                url: format!("consul://{}", opts.hosts.join(",")),
                reason,
            })?;
        let http = Arc::new(ConsulHttp::new(&opts));
        let (list, index) = fetch(&opts, &http, service, None).await?;
        Ok(ConsulDiscovery::spawn(opts, http, service, list, index))
    }

    fn spawn(
        opts: ConsulOptions,
        http: Arc<ConsulHttp>,
        service: &str,
        list: Vec<ServerEntry>,
        index: u64,
    ) -> ConsulDiscovery {
        let (tx, rx) = watch::channel(ServerList::from(list));
        let task = tokio::spawn(run(
            opts.clone(),
            http.clone(),
            service.to_owned(),
            tx,
            index,
        ));
        ConsulDiscovery {
            inner: Arc::new(Inner {
                opts,
                http,
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

impl std::fmt::Debug for ConsulDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulDiscovery")
            .field("service", &self.inner.service)
            .field("servers", &*self.rx.borrow())
            .finish()
    }
}

impl Discovery for ConsulDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.rx.clone()
    }

    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery> {
        let _guard = self.inner.runtime.enter();
        // Starts empty; the first (non-blocking) listing fills it.
        Arc::new(ConsulDiscovery::spawn(
            self.inner.opts.clone(),
            self.inner.http.clone(),
            service_path,
            Vec::new(),
            0,
        ))
    }

    fn close(&self) {
        self.inner.task.abort();
    }
}

/// Publishes `list` if it changed; true when an empty list is held back because Consul came
/// back empty less than `grace` ago.
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
    opts: ConsulOptions,
    http: Arc<ConsulHttp>,
    service: String,
    tx: watch::Sender<ServerList>,
    mut index: u64,
) {
    let mut backoff = Backoff::up_to(Duration::from_secs(5));
    let mut failing = false;
    let mut reconnected_at = None;
    let mut holding = false;
    loop {
        let wait = if holding {
            Duration::from_millis(500)
        } else {
            opts.wait
        };
        let block = (index > 0).then_some((index, wait));
        let started = Instant::now();
        match fetch(&opts, &http, &service, block).await {
            Ok((list, new_index)) => {
                if failing {
                    tracing::info!(%service, "Consul registry reachable again");
                    reconnected_at = Some(Instant::now());
                    failing = false;
                }
                backoff.reset();
                // Consul's rules: reset when the index goes backwards, never use 0.
                let unchanged = new_index == index;
                index = if new_index < index {
                    0
                } else {
                    new_index.max(1)
                };
                holding = publish(&tx, list, reconnected_at, opts.grace);
                if unchanged && !holding && started.elapsed() < Duration::from_millis(10) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, %service, "lost the Consul registry; keeping the last list");
                }
                failing = true;
                index = 0;
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}
