//! What the dashboard knows of the registry: the services, their servers with metadata and
//! health, and the write-back of `state` and `weight` (rpcx-ui's writes).

use super::metrics::{Latency, Look, Scraper};
use super::query;
use crate::list::heartbeat;
use anyhow::{Context as _, anyhow, bail};
use fastrpc::discovery::{Discovery, RegistryError, ServerEntry};
use fastrpc::registry::Registrar;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a write waits for the registry's watch to show the new value before the page
/// is drawn again (the write itself has succeeded by then).
const SHOW_WRITE_WAIT: Duration = Duration::from_secs(3);

/// How long a new discovery may take to list its first servers.
const FIRST_LIST_WAIT: Duration = Duration::from_secs(2);

/// The registry behind the dashboard.
pub(crate) struct Registry {
    /// The URL as given.
    pub(crate) url: String,
    /// `None` for URLs with nothing to write into (`static`, `p2p`, `dns`).
    registrar: Option<Arc<dyn Registrar>>,
    /// Services named on the command line.
    extra_services: Vec<String>,
    /// One watched discovery per service, opened on first use.
    discoveries: Mutex<HashMap<String, Arc<dyn Discovery>>>,
    heartbeat_timeout: Duration,
    /// Reads the metrics endpoints servers advertise (`metrics` metadata).
    scraper: Scraper,
}

/// One server of a service, as the page shows it.
#[derive(Debug, Clone)]
pub(crate) struct ServerView {
    /// `tcp@host:port`.
    pub(crate) key: String,
    /// The metadata query as stored.
    pub(crate) metadata: String,
    /// `weight` (1 when absent).
    pub(crate) weight: u32,
    /// `group` values.
    pub(crate) groups: Vec<String>,
    /// False for `state=inactive`.
    pub(crate) active: bool,
    /// The other keys.
    pub(crate) custom: Vec<(String, String)>,
    /// Heartbeat round trip in milliseconds, or why it failed.
    pub(crate) health: Result<f64, String>,
    /// Call rate and latency from the server's metrics endpoint: `None` when it advertises
    /// none, `Some(Ok(None))` when the endpoint has no figures for this service yet.
    pub(crate) metrics: Option<Result<Option<Latency>, String>>,
}

/// One service and its servers.
#[derive(Debug, Clone)]
pub(crate) struct ServiceView {
    /// The service path (empty for a `static://` list of servers).
    pub(crate) name: String,
    /// Its servers, by key.
    pub(crate) servers: Vec<ServerView>,
}

impl ServiceView {
    /// As JSON, with the fields `fastrpc list -o json` uses for each server.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let servers: Vec<serde_json::Value> = self
            .servers
            .iter()
            .map(|v| {
                let custom: serde_json::Map<String, serde_json::Value> = v
                    .custom
                    .iter()
                    .map(|(k, val)| (k.clone(), serde_json::Value::String(val.clone())))
                    .collect();
                serde_json::json!({
                    "server": v.key,
                    "metadata": v.metadata,
                    "weight": v.weight,
                    "group": v.groups,
                    "state": if v.active { "active" } else { "inactive" },
                    "custom": custom,
                    "alive": v.health.is_ok(),
                    "heartbeat_ms": v.health.as_ref().ok(),
                    "error": v.health.as_ref().err(),
                    "metrics": match &v.metrics {
                        Some(Ok(Some(l))) => l.to_json(),
                        _ => serde_json::Value::Null,
                    },
                    "metrics_error": v.metrics.as_ref().and_then(|m| m.as_ref().err()),
                })
            })
            .collect();
        serde_json::json!({ "service": self.name, "servers": servers })
    }
}

impl Registry {
    /// Opens the registry at `url` (its registrar too, when it has one).
    pub(crate) async fn open(
        url: &str,
        extra_services: Vec<String>,
        heartbeat_timeout: Duration,
    ) -> anyhow::Result<Registry> {
        let registrar = match fastrpc::registry::from_url(url).await {
            Ok(r) => Some(r),
            // static, p2p and dns lists live in the URL: shown, not written.
            Err(RegistryError::InvalidUrl { .. }) if is_builtin(url) => None,
            Err(e) => return Err(e).with_context(|| format!("opening registry {url}")),
        };
        let registry = Registry {
            url: url.to_owned(),
            registrar,
            extra_services,
            discoveries: Mutex::new(HashMap::new()),
            heartbeat_timeout,
            scraper: Scraper::new(heartbeat_timeout),
        };
        // Fail early on a URL that does not work.
        let first = registry.services().await?;
        if let Some(service) = first.first() {
            registry.discovery(service).await?;
        }
        Ok(registry)
    }

    /// True when `state` and `weight` can be written back.
    pub(crate) fn writable(&self) -> bool {
        self.registrar.is_some()
    }

    /// The services to show: those the registry lists plus those named on the command line;
    /// for a registry that lists none and names none, the one unnamed list (`static://`).
    pub(crate) async fn services(&self) -> anyhow::Result<Vec<String>> {
        let mut names: BTreeSet<String> = self.extra_services.iter().cloned().collect();
        if let Some(r) = &self.registrar {
            match r.services().await {
                Ok(listed) => names.extend(listed),
                Err(RegistryError::Unsupported(_)) => {}
                Err(e) => return Err(e).context("listing the registry's services"),
            }
        }
        if names.is_empty() && self.registrar.is_none() {
            names.insert(String::new());
        }
        Ok(names.into_iter().collect())
    }

    /// The watched discovery of `service`, opened on first use.
    pub(crate) async fn discovery(&self, service: &str) -> anyhow::Result<Arc<dyn Discovery>> {
        let mut map = self.discoveries.lock().await;
        if let Some(d) = map.get(service) {
            return Ok(d.clone());
        }
        let d = fastrpc::discovery::from_url(&self.url, service)
            .await
            .with_context(|| format!("opening registry {} for {service}", self.url))?;
        let mut watch = d.watch();
        if watch.borrow().is_empty() {
            let _ = tokio::time::timeout(FIRST_LIST_WAIT, watch.changed()).await;
        }
        map.insert(service.to_owned(), d.clone());
        Ok(d)
    }

    /// Every service with its servers, a heartbeat to each and a read of each advertised
    /// metrics endpoint (all at once).
    pub(crate) async fn snapshot(&self) -> anyhow::Result<Vec<ServiceView>> {
        let mut listed = Vec::new();
        for name in self.services().await? {
            let servers = self.discovery(&name).await?.servers();
            listed.push((name, servers));
        }
        let urls = listed
            .iter()
            .flat_map(|(_, servers)| servers.iter())
            .filter_map(|e| e.get("metrics").map(str::to_owned))
            .collect();
        let looks = self.scraper.look(urls);
        let checks: Vec<Vec<_>> = listed
            .iter()
            .map(|(_, servers)| {
                servers
                    .iter()
                    .map(|e| tokio::spawn(heartbeat(e.key().to_owned(), self.heartbeat_timeout)))
                    .collect()
            })
            .collect();
        let looks = looks.await;
        let mut views = Vec::new();
        for ((name, servers), checks) in listed.into_iter().zip(checks) {
            let mut rows = Vec::with_capacity(servers.len());
            for (entry, check) in servers.iter().zip(checks) {
                let health = check
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
                    .map(|d| d.as_secs_f64() * 1000.0);
                let metrics = entry.get("metrics").map(|url| figures(&looks, url, &name));
                rows.push(server_view(entry, health, metrics));
            }
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            views.push(ServiceView {
                name,
                servers: rows,
            });
        }
        Ok(views)
    }

    /// Sets one metadata key of `server` in `service` as rpcx-ui does: the stored query
    /// parsed, the key set, the query encoded again (keys sorted) and written to the same
    /// entry. Waits until the registry's watch shows it.
    pub(crate) async fn set_key(
        &self,
        service: &str,
        server: &str,
        key: &str,
        value: &str,
    ) -> anyhow::Result<()> {
        let Some(registrar) = &self.registrar else {
            bail!(
                "{} is read-only: a static, p2p or dns list lives in its URL",
                self.url
            );
        };
        let discovery = self.discovery(service).await?;
        let current = discovery
            .servers()
            .iter()
            .find(|e| e.key() == server)
            .map(|e| e.raw_metadata().to_owned())
            .ok_or_else(|| anyhow!("{server} is not registered for {service}"))?;
        let mut pairs = query::parse(&current);
        query::set(&mut pairs, key, value);
        let metadata = query::encode(&pairs);
        registrar
            .update_metadata(server, service, &metadata)
            .await
            .with_context(|| format!("writing the metadata of {server} in {service}"))?;
        let mut watch = discovery.watch();
        let shown = watch.wait_for(|list| {
            list.iter()
                .any(|e| e.key() == server && e.raw_metadata() == metadata)
        });
        let _ = tokio::time::timeout(SHOW_WRITE_WAIT, shown).await;
        Ok(())
    }

    /// Closes the discoveries and the registrar (which owns no entries).
    pub(crate) async fn close(&self) {
        for d in self.discoveries.lock().await.values() {
            d.close();
        }
        if let Some(r) = &self.registrar {
            let _ = r.close().await;
        }
    }
}

fn is_builtin(url: &str) -> bool {
    let scheme = url.split("://").next().unwrap_or_default();
    matches!(scheme, "static" | "p2p" | "peer2peer" | "dns")
}

/// The figures of `service` from the read of `url`.
fn figures(
    looks: &HashMap<String, Result<Look, String>>,
    url: &str,
    service: &str,
) -> Result<Option<Latency>, String> {
    match looks.get(url) {
        Some(Ok(look)) => Ok(look.latency(service)),
        Some(Err(e)) => Err(e.clone()),
        None => Err("not read".to_owned()),
    }
}

fn server_view(
    e: &ServerEntry,
    health: Result<f64, String>,
    metrics: Option<Result<Option<Latency>, String>>,
) -> ServerView {
    let pairs = query::parse(e.raw_metadata());
    let groups = pairs
        .iter()
        .filter(|(k, _)| k == "group")
        .map(|(_, v)| v.clone())
        .collect();
    let custom = pairs
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "group" | "state" | "weight"))
        .collect();
    ServerView {
        key: e.key().to_owned(),
        metadata: e.raw_metadata().to_owned(),
        weight: e.weight(),
        groups,
        active: !e.is_inactive(),
        custom,
        health,
        metrics,
    }
}
