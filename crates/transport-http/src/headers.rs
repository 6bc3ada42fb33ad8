//! The header names of rpcx's HTTP gateway (Go's `server/converter.go`), lower case as the
//! `http` crate stores them; HTTP matches names case-insensitively.

use http::HeaderMap;

/// `X-RPCX-Version`: echoed.
pub const X_VERSION: &str = "x-rpcx-version";
/// `X-RPCX-MessageType`: unused on input.
pub const X_MESSAGE_TYPE: &str = "x-rpcx-messagetype";
/// `X-RPCX-Heartbeat`: any non-empty value sets the heartbeat bit.
pub const X_HEARTBEAT: &str = "x-rpcx-heartbeat";
/// `X-RPCX-Oneway`: any non-empty value makes the reply body empty.
pub const X_ONEWAY: &str = "x-rpcx-oneway";
/// `X-RPCX-MessageStatusType`: `Error` on error answers.
pub const X_MESSAGE_STATUS_TYPE: &str = "x-rpcx-messagestatustype";
/// `X-RPCX-SerializeType`: required, decimal.
pub const X_SERIALIZE_TYPE: &str = "x-rpcx-serializetype";
/// `X-RPCX-CompressType`: decimal.
pub const X_COMPRESS_TYPE: &str = "x-rpcx-compresstype";
/// `X-RPCX-MessageID`: decimal u64, echoed.
pub const X_MESSAGE_ID: &str = "x-rpcx-messageid";
/// `X-RPCX-ServicePath`: the service; else the URL path.
pub const X_SERVICE_PATH: &str = "x-rpcx-servicepath";
/// `X-RPCX-ServiceMethod`: required.
pub const X_SERVICE_METHOD: &str = "x-rpcx-servicemethod";
/// `X-RPCX-Meta`: metadata as a URL query string.
pub const X_META: &str = "x-rpcx-meta";
/// `X-RPCX-ErrorMessage`: the error text of error answers.
pub const X_ERROR_MESSAGE: &str = "x-rpcx-errormessage";
/// `X-JSONRPC-2.0`: `true` selects JSON-RPC 2.0.
pub const X_JSONRPC: &str = "x-jsonrpc-2.0";

/// The value of header `name` as text, `""` when absent or not visible ASCII (Go's
/// `Header.Get`).
pub(crate) fn get<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}
