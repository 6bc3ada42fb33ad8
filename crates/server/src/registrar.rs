//! [`RegistrarPlugin`]: publishes the server's services in a registry.

use crate::{BoxFuture, Connection, Context, ServerPlugin, ServiceError};
use fastrpc_discovery::Registrar;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A [`ServerPlugin`] that publishes every service of the server through a [`Registrar`]
/// (etcd, ZooKeeper, Consul, Redis, mDNS) under the server's key, and removes them on
/// graceful shutdown, before the connections drain (rpcx's register plugins).
///
/// The key is the `network@host:port` address clients should dial (rpcx's
/// `ServiceAddress`): the address the server listens on, or the one it is reached at from
/// outside. Registry operations run in order on a background task, so a shutdown that comes
/// while the first registration is still in progress removes what it wrote.
///
/// ```no_run
/// # use fastrpc_server::{RegistrarPlugin, Server};
/// # fn demo(registrar: impl fastrpc_discovery::Registrar) {
/// let server = Server::builder()
///     .plugin(RegistrarPlugin::new(registrar, "tcp@10.0.0.5:8972"))
///     // .service(...)
///     .build(); // inside a tokio runtime: registration starts here
/// # }
/// ```
pub struct RegistrarPlugin {
    server_key: String,
    registrar: Arc<dyn Registrar>,
    ops: Mutex<Option<mpsc::UnboundedSender<Op>>>,
    /// Set by [`RegistrarPlugin::report_rates`].
    rates: Option<Arc<Rates>>,
    /// `metrics=<url>`, query-encoded, set by [`RegistrarPlugin::advertise_metrics`].
    metrics: Option<String>,
}

/// rpcx's `calls` and `connections` meters: counts since the plugin was made, published as
/// mean rates per second.
struct Rates {
    interval: Duration,
    started: Instant,
    calls: AtomicU64,
    connections: AtomicU64,
    /// The services published now, with their own metadata. The ticker re-publishes only
    /// these, under this lock, so an unregister is never followed by a stale register.
    services: Mutex<Vec<(String, String)>>,
    ticking: std::sync::atomic::AtomicBool,
}

impl Rates {
    /// `metadata` plus `calls=%.2f&connections=%.2f`, as Go's registry plugins add them.
    fn decorate(&self, metadata: &str) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = |n: &AtomicU64| n.load(Ordering::Relaxed) as f64 / secs;
        let extra = format!(
            "calls={:.2}&connections={:.2}",
            rate(&self.calls),
            rate(&self.connections)
        );
        if metadata.is_empty() {
            extra
        } else {
            format!("{metadata}&{extra}")
        }
    }
}

enum Op {
    Register { service: String, metadata: String },
    Unregister { service: String },
    Flush(oneshot::Sender<()>),
}

impl RegistrarPlugin {
    /// Publishes the server's services through `registrar` under `server_key`
    /// (`tcp@10.0.0.5:8972`).
    pub fn new(registrar: impl Registrar, server_key: impl Into<String>) -> RegistrarPlugin {
        RegistrarPlugin::from_arc(Arc::new(registrar), server_key)
    }

    /// Like [`new`](Self::new), for a registrar shared with other code.
    pub fn from_arc(
        registrar: Arc<dyn Registrar>,
        server_key: impl Into<String>,
    ) -> RegistrarPlugin {
        RegistrarPlugin {
            server_key: server_key.into(),
            registrar,
            ops: Mutex::new(None),
            rates: None,
            metrics: None,
        }
    }

    /// Every `interval`, re-publishes each service with rpcx's `calls` and `connections`
    /// metadata added: the mean calls and accepted connections per second since the server
    /// started, with two decimals (`weight=1&calls=12.50&connections=0.25`), as Go's registry
    /// plugins do when their `Metrics` is set (Go's update interval is typically one minute).
    /// Off by default.
    pub fn report_rates(mut self, interval: Duration) -> Self {
        self.rates = Some(Arc::new(Rates {
            interval: interval.max(Duration::from_millis(1)),
            started: Instant::now(),
            calls: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            services: Mutex::new(Vec::new()),
            ticking: std::sync::atomic::AtomicBool::new(false),
        }));
        self
    }

    /// Adds `metrics=<url>` to every service's metadata: where this server's Prometheus
    /// metrics can be read (`http://10.0.0.5:9100/metrics`, served by
    /// `fastrpc::plugins::metrics::PrometheusExporter` with `ServerMetrics` on). The `fastrpc
    /// ui` dashboard reads it to show each server's call rate and latency. Not an rpcx key:
    /// Go clients keep it as custom metadata and ignore it.
    pub fn advertise_metrics(mut self, url: impl AsRef<str>) -> Self {
        let value = fastrpc_discovery::query_escape(url.as_ref());
        self.metrics = Some(format!("metrics={value}"));
        self
    }

    /// `metadata` with the advertised keys added.
    fn published(&self, metadata: &str) -> String {
        match &self.metrics {
            None => metadata.to_owned(),
            Some(extra) if metadata.is_empty() => extra.clone(),
            Some(extra) => format!("{metadata}&{extra}"),
        }
    }

    /// The key services are published under.
    pub fn server_key(&self) -> &str {
        &self.server_key
    }

    /// Queues `op` for the worker, starting it on first use (which needs a tokio runtime).
    fn send(&self, op: Op) -> Result<(), String> {
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        if ops.is_none() {
            let runtime = tokio::runtime::Handle::try_current().map_err(
                |_| "RegistrarPlugin needs a tokio runtime: build the server inside one",
            )?;
            let (tx, rx) = mpsc::unbounded_channel();
            runtime.spawn(worker(self.registrar.clone(), self.server_key.clone(), rx));
            *ops = Some(tx);
        }
        let tx = ops.as_ref().expect("started above");
        tx.send(op)
            .map_err(|_| "registrar worker stopped".to_owned())
    }
}

impl std::fmt::Debug for RegistrarPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrarPlugin")
            .field("server_key", &self.server_key)
            .finish_non_exhaustive()
    }
}

async fn worker(registrar: Arc<dyn Registrar>, key: String, mut ops: mpsc::UnboundedReceiver<Op>) {
    while let Some(op) = ops.recv().await {
        match op {
            Op::Register { service, metadata } => {
                if let Err(e) = registrar.register(&key, &service, &metadata).await {
                    tracing::warn!(%service, %key, error = %e,
                        "registering failed; the registrar keeps retrying");
                }
            }
            Op::Unregister { service } => {
                if let Err(e) = registrar.unregister(&key, &service).await {
                    tracing::warn!(%service, %key, error = %e, "unregistering failed");
                }
            }
            Op::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Re-publishes the services with their rates every interval, until the plugin is dropped or
/// every service is unregistered.
async fn ticker(rates: Arc<Rates>, ops: mpsc::UnboundedSender<Op>) {
    let mut tick = tokio::time::interval(rates.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let services = rates.services.lock().unwrap_or_else(|p| p.into_inner());
        if services.is_empty() {
            rates.ticking.store(false, Ordering::Release);
            return;
        }
        for (service, metadata) in services.iter() {
            let op = Op::Register {
                service: service.clone(),
                metadata: rates.decorate(metadata),
            };
            if ops.send(op).is_err() {
                return;
            }
        }
    }
}

impl RegistrarPlugin {
    fn start_ticker(&self, rates: &Arc<Rates>) {
        if rates.ticking.swap(true, Ordering::AcqRel) {
            return;
        }
        let ops = self.ops.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match (ops, tokio::runtime::Handle::try_current()) {
            (Some(ops), Ok(rt)) => {
                rt.spawn(ticker(rates.clone(), ops));
            }
            _ => rates.ticking.store(false, Ordering::Release),
        }
    }
}

impl ServerPlugin for RegistrarPlugin {
    fn register(&self, service: &str, metadata: &str) -> Result<(), String> {
        let metadata = self.published(metadata);
        self.send(Op::Register {
            service: service.to_owned(),
            metadata: metadata.clone(),
        })?;
        if let Some(rates) = &self.rates {
            {
                let mut services = rates.services.lock().unwrap_or_else(|p| p.into_inner());
                services.retain(|(s, _)| s != service);
                services.push((service.to_owned(), metadata.clone()));
            }
            self.start_ticker(rates);
        }
        Ok(())
    }

    fn unregister(&self, service: &str) -> Result<(), String> {
        // Under the services lock: a tick that already took it has queued its register
        // first; a later one no longer sees the service.
        let _services = self.rates.as_ref().map(|r| {
            let mut services = r.services.lock().unwrap_or_else(|p| p.into_inner());
            services.retain(|(s, _)| s != service);
            services
        });
        self.send(Op::Unregister {
            service: service.to_owned(),
        })
    }

    fn post_conn_accept(&self, _conn: &Connection) -> bool {
        if let Some(r) = &self.rates {
            r.connections.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    fn pre_call(&self, _ctx: &Context, _payload: &bytes::Bytes) -> Result<(), ServiceError> {
        if let Some(r) = &self.rates {
            r.calls.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn unregistered(&self) -> BoxFuture<()> {
        let (done, wait) = oneshot::channel();
        let queued = self.send(Op::Flush(done)).is_ok();
        Box::pin(async move {
            if queued {
                let _ = wait.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastrpc_discovery::MemoryRegistry;

    #[test]
    fn the_metrics_url_is_added_query_encoded() {
        let plugin = RegistrarPlugin::new(MemoryRegistry::new(), "tcp@127.0.0.1:8972")
            .advertise_metrics("http://127.0.0.1:9100/metrics");
        assert_eq!(
            plugin.published("weight=2&group=a"),
            "weight=2&group=a&metrics=http%3A%2F%2F127.0.0.1%3A9100%2Fmetrics"
        );
        assert_eq!(
            plugin.published(""),
            "metrics=http%3A%2F%2F127.0.0.1%3A9100%2Fmetrics"
        );
        let entry = fastrpc_discovery::ServerEntry::new("tcp@a:1", plugin.published("weight=2"));
        assert_eq!(entry.get("metrics"), Some("http://127.0.0.1:9100/metrics"));
    }
}
