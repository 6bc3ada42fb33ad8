//! `fastrpc list`: the servers a registry URL gives, their metadata, and a heartbeat to each.

use crate::args::{ListArgs, Output};
use anyhow::Context as _;
use fastrpc::discovery::{Discovery, ServerEntry};
use fastrpc::{Client, ClientOptions, Message};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long to wait for a discovery that resolves in the background (DNS) to list anything.
const FIRST_LIST_WAIT: Duration = Duration::from_secs(3);

/// Runs `fastrpc list`: one service's servers, or, without a service, every service of a
/// registry that can list its services (etcd, ZooKeeper, Redis), each with its servers.
pub(crate) async fn run(args: ListArgs, output: Output) -> anyhow::Result<()> {
    if args.service.is_none() {
        if let Some(services) = registry_services(&args.registry).await? {
            return list_all(&args, &services, output).await;
        }
    }
    let service = args.service.clone().unwrap_or_default();
    let rows = list_one(&args, &service).await?;
    if output == Output::Json {
        println!("{}", json!({ "service": service, "servers": rows }));
        return Ok(());
    }
    print_table(&service, &rows);
    Ok(())
}

/// The services a registry URL lists, or `None` when it cannot list them (static lists,
/// p2p, DNS, Consul, mDNS): then the URL's own list is shown, as for one service.
async fn registry_services(url: &str) -> anyhow::Result<Option<Vec<String>>> {
    let Ok(registrar) = fastrpc::registry::from_url(url).await else {
        return Ok(None);
    };
    let listed = registrar.services().await;
    let _ = registrar.close().await;
    match listed {
        Ok(services) => Ok(Some(services)),
        Err(fastrpc::registry::RegistryError::Unsupported(_)) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("listing the services of {url}"))),
    }
}

/// Every service with its servers.
async fn list_all(args: &ListArgs, services: &[String], output: Output) -> anyhow::Result<()> {
    let mut all = Vec::with_capacity(services.len());
    if let Some(first) = services.first() {
        // One registry connection for every service: the others are clones of the first.
        let template = open(args, first).await?;
        for service in services {
            let discovery = template.clone_for_service(service);
            all.push((service.clone(), rows(args, &*discovery).await));
        }
        template.close();
    }
    if output == Output::Json {
        let services: Vec<Value> = all
            .into_iter()
            .map(|(service, rows)| json!({ "service": service, "servers": rows }))
            .collect();
        println!("{}", json!({ "services": services }));
        return Ok(());
    }
    if all.is_empty() {
        println!("(no services)");
    }
    for (i, (service, rows)) in all.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print_table(service, rows);
    }
    Ok(())
}

/// The servers of one service (all the URL gives when `service` is empty), each with its
/// metadata and a heartbeat.
async fn list_one(args: &ListArgs, service: &str) -> anyhow::Result<Vec<Value>> {
    let discovery = open(args, service).await?;
    Ok(rows(args, &*discovery).await)
}

/// The registry URL's discovery of `service`.
async fn open(args: &ListArgs, service: &str) -> anyhow::Result<Arc<dyn Discovery>> {
    fastrpc::discovery::from_url(&args.registry, service)
        .await
        .with_context(|| format!("opening registry {}", args.registry))
}

/// What `discovery` lists (waiting briefly for a first list), each server with its metadata
/// and a heartbeat; the discovery is closed afterwards.
async fn rows(args: &ListArgs, discovery: &dyn Discovery) -> Vec<Value> {
    let mut watch = discovery.watch();
    if watch.borrow().is_empty() {
        let _ = tokio::time::timeout(FIRST_LIST_WAIT, watch.changed()).await;
    }
    let servers = discovery.servers();
    discovery.close();
    let checks = servers
        .iter()
        .map(|e| heartbeat(e.key().to_owned(), args.heartbeat_timeout));
    let health = futures_join(checks).await;
    servers
        .iter()
        .zip(health)
        .map(|(e, h)| server_json(e, h))
        .collect()
}

/// Runs the checks concurrently, keeping their order.
async fn futures_join<F: Future<Output = Result<Duration, String>> + Send + 'static>(
    checks: impl Iterator<Item = F>,
) -> Vec<Result<Duration, String>> {
    let handles: Vec<_> = checks.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| Err(e.to_string())));
    }
    out
}

/// Connects to `key` and times one heartbeat round trip.
pub(crate) async fn heartbeat(key: String, timeout: Duration) -> Result<Duration, String> {
    let opts = ClientOptions::default().connect_timeout(timeout);
    let client = Client::connect_with(&key, opts)
        .await
        .map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let began = Instant::now();
    let reply = client
        .send_raw(Message::heartbeat(0, now), Some(timeout))
        .await
        .map_err(|e| e.to_string())?;
    client.close();
    match reply {
        Some(m) if m.header.is_heartbeat() => Ok(began.elapsed()),
        Some(_) => Err("answered a heartbeat with something else".to_owned()),
        None => Err("no reply".to_owned()),
    }
}

fn server_json(e: &ServerEntry, health: Result<Duration, String>) -> Value {
    let custom: Map<String, Value> = e
        .raw_metadata()
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .filter_map(|k| Some((k.to_owned(), Value::String(e.get(k)?.to_owned()))))
        .collect();
    let (alive, rtt, error) = match health {
        Ok(d) => (true, Some(d.as_secs_f64() * 1000.0), None),
        Err(err) => (false, None, Some(err)),
    };
    json!({
        "server": e.key(),
        "weight": e.weight(),
        "group": e.get("group"),
        "state": if e.is_inactive() { "inactive" } else { "active" },
        "metadata": custom,
        "alive": alive,
        "heartbeat_ms": rtt,
        "error": error,
    })
}

fn print_table(service: &str, rows: &[Value]) {
    if !service.is_empty() {
        println!("service {service}");
    }
    if rows.is_empty() {
        println!("(no servers)");
    }
    for r in rows {
        let health = match r["heartbeat_ms"].as_f64() {
            Some(ms) => format!("alive ({ms:.2} ms)"),
            None => format!("DOWN ({})", r["error"].as_str().unwrap_or("?")),
        };
        println!(
            "{}  weight={} group={} state={}  {}  metadata={}",
            r["server"].as_str().unwrap_or_default(),
            r["weight"],
            r["group"].as_str().unwrap_or("-"),
            r["state"].as_str().unwrap_or_default(),
            health,
            r["metadata"]
        );
    }
}
