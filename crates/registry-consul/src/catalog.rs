//! Consul's native service catalog (the second mode): agent services with TTL checks.

use crate::ConsulOptions;
use crate::http::{ConsulHttp, escape_path, go_duration};
use fastrpc_discovery::{RegistryError, ServerEntry};
use hyper::Method;
use std::collections::BTreeMap;
use std::time::Duration;

/// The service ID of `server_key` for `service`: `{service}-{server_key}`.
pub(crate) fn service_id(service: &str, server_key: &str) -> String {
    format!("{service}-{server_key}")
}

/// `PUT /v1/agent/service/register` for one server of `service`, with a passing TTL check.
///
/// `Address` and `Port` come from the `network@host:port` key; `Meta` keeps the network
/// (`rpcx_network`) and rpcx's metadata query (`rpcx_metadata`).
pub(crate) async fn register(
    http: &ConsulHttp,
    opts: &ConsulOptions,
    service: &str,
    server_key: &str,
    metadata: &str,
) -> Result<(), RegistryError> {
    let (network, addr) = server_key.split_once('@').unwrap_or(("tcp", server_key));
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            RegistryError::Backend(format!(
                "catalog mode needs host:port keys, not {server_key}"
            ))
        })?;
    let id = service_id(service, server_key);
    let body = serde_json::json!({
        "ID": id,
        "Name": service,
        "Address": host,
        "Port": port,
        "Meta": { "rpcx_network": network, "rpcx_metadata": metadata },
        "Check": {
            "CheckID": format!("service:{id}"),
            "TTL": go_duration(opts.ttl),
            "Status": "passing",
            "DeregisterCriticalServiceAfter": go_duration(opts.deregister_after),
        },
    });
    let reply = http
        .send(
            Method::PUT,
            "/v1/agent/service/register",
            Some(body.to_string().into_bytes()),
            Duration::ZERO,
        )
        .await?;
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        Err(reply.error())
    }
}

/// `PUT /v1/agent/check/pass/service:{id}`; false when the agent no longer knows the check.
pub(crate) async fn pass(
    http: &ConsulHttp,
    service: &str,
    server_key: &str,
) -> Result<bool, RegistryError> {
    let path = format!(
        "/v1/agent/check/pass/{}",
        escape_path(&format!("service:{}", service_id(service, server_key)))
    );
    let reply = http.send(Method::PUT, &path, None, Duration::ZERO).await?;
    match reply.status {
        200..=299 => Ok(true),
        404 => Ok(false),
        // Older agents answer 500 "CheckID ... does not have associated TTL" / unknown check.
        500 if String::from_utf8_lossy(&reply.body).contains("nknown") => Ok(false),
        _ => Err(reply.error()),
    }
}

pub(crate) async fn deregister(
    http: &ConsulHttp,
    service: &str,
    server_key: &str,
) -> Result<(), RegistryError> {
    let path = format!(
        "/v1/agent/service/deregister/{}",
        escape_path(&service_id(service, server_key))
    );
    let reply = http.send(Method::PUT, &path, None, Duration::ZERO).await?;
    if (200..300).contains(&reply.status) || reply.status == 404 {
        Ok(())
    } else {
        Err(reply.error())
    }
}

#[derive(serde::Deserialize)]
struct HealthEntry {
    #[serde(rename = "Service")]
    service: HealthService,
}

#[derive(serde::Deserialize)]
struct HealthService {
    #[serde(rename = "Address", default)]
    address: String,
    #[serde(rename = "Port", default)]
    port: u16,
    #[serde(rename = "Meta", default)]
    meta: Option<BTreeMap<String, String>>,
}

/// `GET /v1/health/service/{service}?passing=true`, optionally blocking: the passing servers.
pub(crate) async fn list(
    http: &ConsulHttp,
    service: &str,
    block: Option<(u64, Duration)>,
) -> Result<(Vec<ServerEntry>, u64), RegistryError> {
    let mut path = format!("/v1/health/service/{}?passing=true", escape_path(service));
    let mut extra = Duration::ZERO;
    if let Some((index, wait)) = block {
        path.push_str(&format!("&index={index}&wait={}", go_duration(wait)));
        extra = wait + wait / 16;
    }
    let reply = http.send(Method::GET, &path, None, extra).await?;
    let index = reply.index.unwrap_or(0);
    let entries: Vec<HealthEntry> = reply.json()?;
    let mut out: Vec<ServerEntry> = entries
        .into_iter()
        .map(|e| {
            let meta = e.service.meta.unwrap_or_default();
            let network = meta.get("rpcx_network").map_or("tcp", String::as_str);
            let host = &e.service.address;
            let addr = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            ServerEntry::new(
                format!("{network}@{addr}:{}", e.service.port),
                meta.get("rpcx_metadata").cloned().unwrap_or_default(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.key().cmp(b.key()));
    Ok((out, index))
}
