//! JSON-RPC 2.0 over HTTP (§2.3): `method` is `Service.Method`, `params` the JSON argument.

use crate::bridge::Bridge;
use crate::headers::{self as h, get};
use crate::meta;
use crate::response::{Body, full};
use bytes::Bytes;
use fastrpc_core::{Message, Metadata, SerializeType, keys};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header::CONTENT_TYPE};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON is not a valid request object (rpcx defines it but never sends it).
pub const INVALID_REQUEST: i64 = -32600;
/// The method has no `.` between service and method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Auth refused, or the service failed.
pub const INTERNAL_ERROR: i64 = -32603;

/// Calls of one batch run at most this many at a time.
const BATCH_CONCURRENCY: usize = 64;

#[derive(Deserialize)]
struct Request<'a> {
    method: String,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    /// `None` when the member is absent (a notification); `Some(Null)` for `"id": null`.
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Serialize)]
struct ErrorObject {
    code: i64,
    message: String,
    data: Option<()>,
}

#[derive(Serialize)]
struct Answer<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorObject>,
    id: &'a Value,
}

/// The metadata every call of one HTTP request carries: `X-RPCX-Meta` and `Authorization`.
fn request_metadata(hdr: &HeaderMap) -> Metadata {
    let mut md = meta::parse_lenient(get(hdr, h::X_META));
    let auth = get(hdr, "authorization");
    if !auth.is_empty() {
        md.insert(keys::AUTH, auth.to_owned());
    }
    md
}

/// Answers one JSON-RPC HTTP request (a single call or a batch); always HTTP 200.
pub(crate) async fn handle(bridge: &Bridge, hdr: &HeaderMap, body: Bytes) -> Response<Body> {
    let md = request_metadata(hdr);
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let out = if first == Some(b'[') {
        batch(bridge, &md, &body).await
    } else {
        match serde_json::from_slice::<&RawValue>(&body) {
            Ok(raw) => one(bridge, &md, raw).await,
            Err(e) => Some(error_json(&Value::Null, PARSE_ERROR, e.to_string())),
        }
    };
    let mut res = full(StatusCode::OK, out.unwrap_or_default());
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

async fn batch(bridge: &Bridge, md: &Metadata, body: &[u8]) -> Option<String> {
    let items: Vec<&RawValue> = match serde_json::from_slice(body) {
        Ok(items) => items,
        Err(e) => return Some(error_json(&Value::Null, PARSE_ERROR, e.to_string())),
    };
    if items.is_empty() {
        let msg = "empty batch".to_owned();
        return Some(error_json(&Value::Null, INVALID_REQUEST, msg));
    }
    // The futures are made up front: a combinator closure over `&RawValue` trips rustc's
    // higher-ranked `Send` check once the answer future is spawned.
    let calls: Vec<_> = items.into_iter().map(|raw| one(bridge, md, raw)).collect();
    let answers: Vec<String> = futures_util::stream::iter(calls)
        .buffered(BATCH_CONCURRENCY)
        .filter_map(|a| async move { a })
        .collect()
        .await;
    if answers.is_empty() {
        return None;
    }
    Some(format!("[{}]", answers.join(",")))
}

/// One call; `None` for a notification.
async fn one(bridge: &Bridge, md: &Metadata, raw: &RawValue) -> Option<String> {
    let req: Request<'_> = match serde_json::from_str(raw.get()) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("invalid request: {e}");
            return Some(error_json(&Value::Null, INVALID_REQUEST, msg));
        }
    };
    let id = req.id.clone();
    let msg = match to_message(&req, md) {
        Ok(m) => m,
        Err((code, text)) => return id.map(|id| error_json(&id, code, text)),
    };
    let Some(id) = id else {
        notify(bridge, msg).await;
        return None;
    };
    Some(match call(bridge, msg).await {
        Ok(payload) => result_json(&id, &payload),
        Err(text) => error_json(&id, INTERNAL_ERROR, text),
    })
}

fn to_message(req: &Request<'_>, md: &Metadata) -> Result<Message, (i64, String)> {
    let dot = req.method.rfind('.').filter(|&i| i > 0).ok_or((
        METHOD_NOT_FOUND,
        "must contains servicepath and method".to_owned(),
    ))?;
    let mut msg = Message::request(
        req.method[..dot].to_owned(),
        req.method[dot + 1..].to_owned(),
    );
    msg.header.set_serialize_type(SerializeType::JSON);
    msg.metadata = md.clone();
    // rpcx dereferences a nil pointer here; a missing `params` is JSON `null` (zero arguments).
    let params = req.params.map_or("null", RawValue::get);
    msg.payload = Bytes::copy_from_slice(params.as_bytes());
    Ok(msg)
}

/// A notification: sent as a oneway call, answered with nothing. The HTTP answer waits until
/// the request is written to the server (not for the call to finish), so the body's bytes stay
/// counted until the server's connection has taken them.
async fn notify(bridge: &Bridge, mut msg: Message) {
    if let Err(reason) = bridge.server().authenticate(&msg) {
        tracing::debug!(%reason, "JSON-RPC notification refused by auth");
        return;
    }
    msg.header.set_oneway(true);
    if let Err(e) = bridge.client().send_raw(msg, None).await {
        tracing::debug!(error = %e, "JSON-RPC notification not delivered");
    }
}

async fn call(bridge: &Bridge, msg: Message) -> Result<Bytes, String> {
    bridge.server().authenticate(&msg)?;
    let reply = bridge
        .client()
        .send_raw(msg, None)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no reply".to_owned())?;
    if reply.header.is_error() {
        return Err(reply.error_text().unwrap_or("unknown error").to_owned());
    }
    Ok(reply.payload)
}

fn result_json(id: &Value, payload: &[u8]) -> String {
    let text = match std::str::from_utf8(payload) {
        Ok(t) if t.trim().is_empty() => "null",
        Ok(t) => t,
        Err(_) => return error_json(id, INTERNAL_ERROR, "reply is not UTF-8 JSON".into()),
    };
    match serde_json::from_str::<&RawValue>(text) {
        Ok(raw) => to_json(&Answer {
            jsonrpc: "2.0",
            result: Some(raw),
            error: None,
            id,
        }),
        Err(e) => error_json(id, INTERNAL_ERROR, format!("reply is not JSON: {e}")),
    }
}

fn error_json(id: &Value, code: i64, message: String) -> String {
    to_json(&Answer {
        jsonrpc: "2.0",
        result: None,
        error: Some(ErrorObject {
            code,
            message,
            data: None,
        }),
        id,
    })
}

fn to_json(a: &Answer<'_>) -> String {
    // Serializing these plain structs cannot fail.
    serde_json::to_string(a).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_have_rpcx_shape() {
        let id = Value::from(7);
        assert_eq!(
            result_json(&id, br#"{"C":200}"#),
            r#"{"jsonrpc":"2.0","result":{"C":200},"id":7}"#
        );
        assert_eq!(
            error_json(&Value::from("x"), -32601, "m".into()),
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"m","data":null},"id":"x"}"#
        );
        assert_eq!(
            result_json(&id, b""),
            r#"{"jsonrpc":"2.0","result":null,"id":7}"#
        );
        assert!(result_json(&id, b"{oops").contains("-32603"));
    }

    #[test]
    fn id_absent_null_and_params() {
        let r: Request<'_> = serde_json::from_str(r#"{"method":"A.B"}"#).unwrap();
        assert!(r.id.is_none() && r.params.is_none());
        let r: Request<'_> = serde_json::from_str(r#"{"method":"A.B","id":null}"#).unwrap();
        assert_eq!(r.id, Some(Value::Null));
        let m = to_message(&r, &Metadata::new()).unwrap();
        assert_eq!(&m.payload[..], b"null");
        let r: Request<'_> = serde_json::from_str(r#"{"method":"a.b.C","params":[1, 2]}"#).unwrap();
        let m = to_message(&r, &Metadata::new()).unwrap();
        assert_eq!((&*m.service_path, &*m.service_method), ("a.b", "C"));
        assert_eq!(&m.payload[..], b"[1, 2]");
        let r: Request<'_> = serde_json::from_str(r#"{"method":".B"}"#).unwrap();
        assert_eq!(
            to_message(&r, &Metadata::new()).unwrap_err().0,
            METHOD_NOT_FOUND
        );
    }
}
