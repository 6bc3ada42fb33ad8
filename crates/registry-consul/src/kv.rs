//! rpcx's Consul KV layout (`rpcx-protocol.md` §5.3) as requests.

use crate::http::{ConsulHttp, Reply, escape_path, escape_query, go_duration};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fastrpc_discovery::{RegistryError, ServerEntry};
use hyper::Method;
use std::time::Duration;

/// The flags every rpcx KV write sets: Consul's Go API `LockFlagValue`.
pub const LOCK_FLAG_VALUE: u64 = 0x2DDC_CBC0_58A5_0C18;

/// Placeholder value of the base path key.
pub(crate) const BASE_DIR_VALUE: &str = "rpcx_path";

/// One entry of a KV read.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct KvPair {
    #[serde(rename = "Key")]
    pub(crate) key: String,
    #[serde(rename = "Value", default)]
    pub(crate) value: Option<String>,
    #[serde(rename = "Session", default)]
    pub(crate) session: Option<String>,
}

/// `PUT /v1/kv/key?flags=LockFlagValue[&acquire=session]` with `value`; Consul's answer.
pub(crate) async fn put(
    http: &ConsulHttp,
    key: &str,
    value: &[u8],
    acquire: Option<&str>,
) -> Result<bool, RegistryError> {
    let mut path = format!("/v1/kv/{}?flags={LOCK_FLAG_VALUE}", escape_path(key));
    if let Some(s) = acquire {
        path.push_str(&format!("&acquire={}", escape_query(s)));
    }
    http.send(Method::PUT, &path, Some(value.to_vec()), Duration::ZERO)
        .await?
        .json()
}

/// `GET /v1/kv/key`: the session holding `key`, if any.
pub(crate) async fn holder(http: &ConsulHttp, key: &str) -> Result<Option<String>, RegistryError> {
    let reply = http
        .send(
            Method::GET,
            &format!("/v1/kv/{}", escape_path(key)),
            None,
            Duration::ZERO,
        )
        .await?;
    if reply.status == 404 {
        return Ok(None);
    }
    let pairs: Vec<KvPair> = reply.json()?;
    Ok(pairs
        .into_iter()
        .next()
        .and_then(|p| p.session)
        .filter(|s| !s.is_empty()))
}

pub(crate) async fn delete(http: &ConsulHttp, key: &str) -> Result<(), RegistryError> {
    let reply = http
        .send(
            Method::DELETE,
            &format!("/v1/kv/{}", escape_path(key)),
            None,
            Duration::ZERO,
        )
        .await?;
    reply.json::<bool>().map(|_| ())
}

/// Creates the session libkv creates for a TTL'd key: `Behavior` delete, `TTL` = ttl/2 (Consul
/// invalidates after twice the TTL), `LockDelay` 1 ms. The body is what Go's API sends.
pub(crate) async fn create_session(
    http: &ConsulHttp,
    ttl: Duration,
) -> Result<String, RegistryError> {
    #[derive(serde::Deserialize)]
    struct Created {
        #[serde(rename = "ID")]
        id: String,
    }
    let body = session_body(ttl);
    let created: Created = http
        .send(
            Method::PUT,
            "/v1/session/create",
            Some(body.into_bytes()),
            Duration::ZERO,
        )
        .await?
        .json()?;
    Ok(created.id)
}

/// The JSON body of a session create, byte for byte as Go's `api.Session().Create` writes it
/// for libkv's `SessionEntry` (a map, so the keys are sorted).
pub(crate) fn session_body(ttl: Duration) -> String {
    format!(
        r#"{{"Behavior":"delete","LockDelay":"1ms","TTL":"{}"}}"#,
        go_duration(ttl / 2)
    )
}

/// Renews `session`; false when Consul no longer knows it.
pub(crate) async fn renew_session(http: &ConsulHttp, session: &str) -> Result<bool, RegistryError> {
    let reply = http
        .send(
            Method::PUT,
            &format!("/v1/session/renew/{}", escape_path(session)),
            None,
            Duration::ZERO,
        )
        .await?;
    match reply.status {
        200..=299 => Ok(true),
        404 => Ok(false),
        _ => Err(reply.error()),
    }
}

pub(crate) async fn destroy_session(http: &ConsulHttp, session: &str) -> Result<(), RegistryError> {
    http.send(
        Method::PUT,
        &format!("/v1/session/destroy/{}", escape_path(session)),
        None,
        Duration::ZERO,
    )
    .await?
    .json::<bool>()
    .map(|_| ())
}

/// Lists `prefix` recursively, optionally as a blocking query; returns the servers under
/// `prefix/` and the `X-Consul-Index`.
pub(crate) async fn list(
    http: &ConsulHttp,
    prefix: &str,
    block: Option<(u64, Duration)>,
) -> Result<(Vec<ServerEntry>, u64), RegistryError> {
    let mut path = format!("/v1/kv/{}?recurse", escape_path(prefix));
    let mut extra = Duration::ZERO;
    if let Some((index, wait)) = block {
        path.push_str(&format!("&index={index}&wait={}", go_duration(wait)));
        extra = wait + wait / 16;
    }
    let reply = http.send(Method::GET, &path, None, extra).await?;
    let index = reply.index.unwrap_or(0);
    if reply.status == 404 {
        return Ok((Vec::new(), index));
    }
    Ok((servers(&reply, prefix)?, index))
}

fn servers(reply: &Reply, prefix: &str) -> Result<Vec<ServerEntry>, RegistryError> {
    let pairs: Vec<KvPair> = reply.json()?;
    let dir = format!("{prefix}/");
    let mut out: Vec<ServerEntry> = pairs
        .into_iter()
        .filter_map(|p| {
            let key = p.key.strip_prefix(&dir).filter(|k| !k.is_empty())?;
            let value = match p.value {
                Some(b64) => STANDARD.decode(b64.as_bytes()).ok()?,
                None => Vec::new(),
            };
            Some(ServerEntry::new(key, String::from_utf8_lossy(&value)))
        })
        .collect();
    out.sort_by(|a, b| a.key().cmp(b.key()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_session_body_and_flags() {
        assert_eq!(
            session_body(Duration::from_secs(20)),
            r#"{"Behavior":"delete","LockDelay":"1ms","TTL":"10s"}"#
        );
        assert_eq!(LOCK_FLAG_VALUE, 3304740253564472344);
    }
}
