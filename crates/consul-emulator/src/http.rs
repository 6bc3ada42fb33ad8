//! The emulated HTTP endpoints (axum handlers), shaped as Consul's API documents them.

use crate::duration::parse_go_duration;
use crate::state::{AgentService, ApiError, KvEntry, State, TtlCheck};
use crate::{Emulator, RecordedRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Params = Query<HashMap<String, String>>;
type Emu = Shared<Arc<Emulator>>;

pub(crate) fn router(emu: Arc<Emulator>) -> Router {
    Router::new()
        .route("/v1/kv/{*key}", get(kv_get).put(kv_put).delete(kv_delete))
        .route("/v1/session/create", put(session_create))
        .route("/v1/session/renew/{id}", put(session_renew))
        .route("/v1/session/destroy/{id}", put(session_destroy))
        .route("/v1/session/info/{id}", get(session_info))
        .route("/v1/agent/service/register", put(service_register))
        .route("/v1/agent/service/deregister/{id}", put(service_deregister))
        .route("/v1/agent/check/pass/{id}", put(check_pass))
        .route("/v1/health/service/{name}", get(health_service))
        .with_state(emu)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.1).into_response()
    }
}

fn json_response(status: StatusCode, body: &Value, index: Option<u64>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(i) = index {
        headers.insert("x-consul-index", HeaderValue::from(i));
        headers.insert("x-consul-knownleader", HeaderValue::from_static("true"));
        headers.insert("x-consul-lastcontact", HeaderValue::from_static("0"));
    }
    (status, headers, body.to_string()).into_response()
}

fn record(emu: &Emulator, method: &Method, uri: &Uri, body: &[u8]) {
    emu.record(RecordedRequest {
        method: method.to_string(),
        path_and_query: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        body: String::from_utf8_lossy(body).into_owned(),
    });
}

/// Waits while `current(state) <= index` (a blocking query), for at most `wait`
/// (default 5 min, at most 10 min, as Consul).
async fn block(emu: &Emulator, params: &HashMap<String, String>, current: impl Fn(&State) -> u64) {
    let Some(want) = params
        .get("index")
        .and_then(|i| i.parse::<u64>().ok())
        .filter(|i| *i > 0)
    else {
        return;
    };
    let wait = params
        .get("wait")
        .and_then(|w| parse_go_duration(w))
        .unwrap_or(Duration::from_secs(300))
        .min(Duration::from_secs(600));
    let deadline = tokio::time::Instant::now() + wait;
    let mut changed = emu.changed.subscribe();
    loop {
        if current(&emu.lock()) > want {
            return;
        }
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            return;
        }
    }
}

fn entry_json(e: &KvEntry) -> Value {
    let mut v = json!({
        "LockIndex": e.lock_index,
        "Key": e.key,
        "Flags": e.flags,
        "Value": if e.value.is_empty() { Value::Null } else { Value::String(STANDARD.encode(&e.value)) },
        "CreateIndex": e.create_index,
        "ModifyIndex": e.modify_index,
    });
    if let Some(s) = &e.session {
        v["Session"] = Value::String(s.clone());
    }
    v
}

async fn kv_get(
    emu: Emu,
    Path(key): Path<String>,
    Query(p): Params,
    method: Method,
    uri: Uri,
) -> Response {
    record(&emu, &method, &uri, b"");
    let recurse = p.contains_key("recurse");
    block(&emu, &p, |s| s.kv_read(&key, recurse).1).await;
    let (entries, index) = emu.lock().kv_read(&key, recurse);
    if entries.is_empty() {
        let mut r = json_response(StatusCode::NOT_FOUND, &Value::Null, Some(index));
        *r.body_mut() = axum::body::Body::empty();
        return r;
    }
    let body = Value::Array(entries.iter().map(entry_json).collect());
    json_response(StatusCode::OK, &body, Some(index))
}

async fn kv_put(
    emu: Emu,
    Path(key): Path<String>,
    Query(p): Params,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    record(&emu, &method, &uri, &body);
    let num = |name: &str| -> Result<Option<u64>, ApiError> {
        p.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError(400, format!("Invalid {name}: {v:?}")))
            })
            .transpose()
    };
    let result = (|| {
        let flags = num("flags")?.unwrap_or(0);
        let cas = num("cas")?;
        let acquire = p.get("acquire").map(String::as_str);
        let release = p.get("release").map(String::as_str);
        emu.lock()
            .kv_put(&key, body.to_vec(), flags, cas, acquire, release)
    })();
    emu.notify();
    match result {
        Ok(done) => json_response(StatusCode::OK, &Value::Bool(done), None),
        Err(e) => e.into_response(),
    }
}

async fn kv_delete(
    emu: Emu,
    Path(key): Path<String>,
    Query(p): Params,
    method: Method,
    uri: Uri,
) -> Response {
    record(&emu, &method, &uri, b"");
    emu.lock().kv_delete(&key, p.contains_key("recurse"));
    emu.notify();
    json_response(StatusCode::OK, &Value::Bool(true), None)
}

async fn session_create(emu: Emu, method: Method, uri: Uri, body: Bytes) -> Response {
    record(&emu, &method, &uri, &body);
    let result = emu.lock().session_create(&String::from_utf8_lossy(&body));
    emu.notify();
    match result {
        Ok(id) => json_response(StatusCode::OK, &json!({ "ID": id }), None),
        Err(e) => e.into_response(),
    }
}

fn session_json(s: &crate::state::SessionInfo) -> Value {
    json!({
        "ID": s.id,
        "Name": s.name,
        "Node": "emulator",
        "LockDelay": s.lock_delay.as_nanos() as u64,
        "Behavior": s.behavior,
        "TTL": s.ttl,
        "NodeChecks": ["serfHealth"],
        "ServiceChecks": null,
        "CreateIndex": s.create_index,
        "ModifyIndex": s.create_index,
    })
}

async fn session_renew(emu: Emu, Path(id): Path<String>, method: Method, uri: Uri) -> Response {
    record(&emu, &method, &uri, b"");
    let renewed = emu.lock().session_renew(&id);
    match renewed {
        Some(s) => json_response(StatusCode::OK, &json!([session_json(&s)]), None),
        None => ApiError(404, format!("Session id '{id}' not found")).into_response(),
    }
}

async fn session_destroy(emu: Emu, Path(id): Path<String>, method: Method, uri: Uri) -> Response {
    record(&emu, &method, &uri, b"");
    emu.lock().session_destroy(&id);
    emu.notify();
    json_response(StatusCode::OK, &Value::Bool(true), None)
}

async fn session_info(emu: Emu, Path(id): Path<String>, method: Method, uri: Uri) -> Response {
    record(&emu, &method, &uri, b"");
    let state = emu.lock();
    let list: Vec<Value> = state
        .sessions
        .get(&id)
        .map(session_json)
        .into_iter()
        .collect();
    json_response(StatusCode::OK, &Value::Array(list), Some(state.index()))
}

#[derive(serde::Deserialize)]
struct ServiceDef {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Address", default)]
    address: String,
    #[serde(rename = "Port", default)]
    port: u16,
    #[serde(rename = "Tags", default)]
    tags: Option<Vec<String>>,
    #[serde(rename = "Meta", default)]
    meta: Option<BTreeMap<String, String>>,
    #[serde(rename = "Check", default)]
    check: Option<CheckDef>,
}

#[derive(serde::Deserialize)]
struct CheckDef {
    #[serde(rename = "CheckID", default)]
    check_id: String,
    #[serde(rename = "TTL", default)]
    ttl: String,
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "DeregisterCriticalServiceAfter", default)]
    deregister_after: String,
}

fn service_from(def: ServiceDef) -> Result<AgentService, ApiError> {
    let id = if def.id.is_empty() {
        def.name.clone()
    } else {
        def.id
    };
    let check = match def.check {
        None => None,
        Some(c) => {
            let ttl = parse_go_duration(&c.ttl)
                .filter(|t| !t.is_zero())
                .ok_or_else(|| {
                    ApiError(400, "Invalid check: only TTL checks are emulated".into())
                })?;
            let deregister_after = if c.deregister_after.is_empty() {
                None
            } else {
                Some(parse_go_duration(&c.deregister_after).ok_or_else(|| {
                    ApiError(
                        400,
                        format!(
                            "Invalid DeregisterCriticalServiceAfter {:?}",
                            c.deregister_after
                        ),
                    )
                })?)
            };
            let status = if c.status.is_empty() {
                "critical".to_owned()
            } else {
                c.status
            };
            let now = Instant::now();
            Some(TtlCheck {
                id: if c.check_id.is_empty() {
                    format!("service:{id}")
                } else {
                    c.check_id
                },
                critical_since: (status == "critical").then_some(now),
                status,
                ttl,
                deregister_after,
                deadline: now + ttl,
            })
        }
    };
    Ok(AgentService {
        id,
        name: def.name,
        address: def.address,
        port: def.port,
        tags: def.tags.unwrap_or_default(),
        meta: def.meta.unwrap_or_default(),
        check,
    })
}

async fn service_register(emu: Emu, method: Method, uri: Uri, body: Bytes) -> Response {
    record(&emu, &method, &uri, &body);
    let def: ServiceDef = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return ApiError(400, format!("Request decode failed: {e}")).into_response(),
    };
    match service_from(def) {
        Ok(s) => {
            emu.lock().service_register(s);
            emu.notify();
            StatusCode::OK.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn service_deregister(
    emu: Emu,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
) -> Response {
    record(&emu, &method, &uri, b"");
    let found = emu.lock().service_deregister(&id);
    emu.notify();
    if found {
        StatusCode::OK.into_response()
    } else {
        ApiError(404, format!("Unknown service ID {id:?}. Ensure that the service ID is passed, not the service name.")).into_response()
    }
}

async fn check_pass(emu: Emu, Path(id): Path<String>, method: Method, uri: Uri) -> Response {
    record(&emu, &method, &uri, b"");
    let found = emu.lock().check_pass(&id);
    emu.notify();
    if found {
        StatusCode::OK.into_response()
    } else {
        ApiError(
            404,
            format!(
                "Unknown check ID {id:?}. Ensure that the check ID is passed, not the check name."
            ),
        )
        .into_response()
    }
}

async fn health_service(
    emu: Emu,
    Path(name): Path<String>,
    Query(p): Params,
    method: Method,
    uri: Uri,
) -> Response {
    record(&emu, &method, &uri, b"");
    block(&emu, &p, State::services_index).await;
    let passing_only = p
        .get("passing")
        .is_some_and(|v| v.is_empty() || v == "true" || v == "1");
    let state = emu.lock();
    let list: Vec<Value> = state
        .services
        .values()
        .filter(|s| s.name == name)
        .filter(|s| !passing_only || s.check.as_ref().is_none_or(|c| c.status == "passing"))
        .map(|s| {
            let mut checks = vec![json!({
                "Node": "emulator", "CheckID": "serfHealth", "Name": "Serf Health Status",
                "Status": "passing", "ServiceID": "", "ServiceName": "",
            })];
            if let Some(c) = &s.check {
                checks.push(json!({
                    "Node": "emulator", "CheckID": c.id, "Name": format!("Service '{}' check", s.name),
                    "Status": c.status, "ServiceID": s.id, "ServiceName": s.name,
                }));
            }
            json!({
                "Node": { "ID": "00000000-0000-0000-0000-000000000000", "Node": "emulator",
                          "Address": "127.0.0.1", "Datacenter": "dc1" },
                "Service": { "ID": s.id, "Service": s.name, "Tags": s.tags, "Address": s.address,
                             "Meta": s.meta, "Port": s.port },
                "Checks": checks,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &Value::Array(list),
        Some(state.services_index()),
    )
}
