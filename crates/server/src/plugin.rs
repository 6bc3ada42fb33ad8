//! Server plugin hooks, rpcx's list (`server/plugin.go`) as one trait with no-op defaults.

use crate::{BoxFuture, Connection, Context, HandlerResult, ServiceError};
use fastrpc_core::{Message, ProtocolError};

/// Why a plugin stopped a request or a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginError {
    /// Answer the request with `request reached rate limit` and keep the connection
    /// (Go's `ErrReqReachLimit`).
    RateLimited,
    /// Close the connection, for this reason.
    Close(String),
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginError::RateLimited => f.write_str(fastrpc_core::errors::REQ_REACH_LIMIT),
            PluginError::Close(r) => write!(f, "connection closed by plugin: {r}"),
        }
    }
}

impl std::error::Error for PluginError {}

/// Hooks into the server's life and request pipeline. Implement the ones you need.
///
/// Order per message, as in rpcx (with `rewrite_request` first, for plugins that ask for it):
/// `post_read_request`, auth (skipped for heartbeats), then for
/// a heartbeat `heartbeat_request` and the echo; otherwise `pre_handle_request`, the lookup,
/// `pre_call`, the method, `post_call`, `pre_write_response`, the write, `post_write_response`.
/// Hooks run on the connection's tasks: keep them short and non-blocking.
#[allow(unused_variables)]
pub trait ServerPlugin: Send + Sync + 'static {
    /// A service was registered with this metadata (a URL query such as `weight=10`).
    /// Registry plugins publish it here.
    fn register(&self, service: &str, metadata: &str) -> Result<(), String> {
        Ok(())
    }
    /// A service is going away (server shutdown).
    fn unregister(&self, service: &str) -> Result<(), String> {
        Ok(())
    }
    /// Awaited by graceful shutdown after [`unregister`](Self::unregister) was called for
    /// every service, until the shutdown deadline and before connections are drained: a
    /// plugin that does I/O to unregister (a registry deleting its entries) finishes it here,
    /// so clients stop choosing this server while it still answers.
    fn unregistered(&self) -> BoxFuture<()> {
        Box::pin(async {})
    }
    /// A connection was accepted; return false to close it at once.
    fn post_conn_accept(&self, conn: &Connection) -> bool {
        true
    }
    /// A connection closed.
    fn post_conn_close(&self, conn: &Connection) {}
    /// True when this plugin rewrites requests with
    /// [`rewrite_request`](Self::rewrite_request). Asked once, when the server is built: a
    /// server whose plugins all answer false never makes the call, so the hook costs nothing
    /// unless a plugin uses it.
    fn rewrites_requests(&self) -> bool {
        false
    }
    /// Rewrites a request right after it is read, before every other hook, auth and the
    /// service lookup (rpcx's alias plugin does this in `PostReadRequest`); called only when
    /// [`rewrites_requests`](Self::rewrites_requests) is true, for every message read,
    /// heartbeats included. When the service path or method changes, the reply carries the
    /// names the caller sent, so a caller matching replies by name sees its own.
    fn rewrite_request(&self, conn: &Connection, msg: &mut Message) {}
    /// A frame was read (`Ok`) or failed to decode (`Err`, after which a fatal error closes
    /// the connection). An error from the hook rejects the request or closes the connection.
    fn post_read_request(
        &self,
        conn: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        Ok(())
    }
    /// A heartbeat arrived (it is echoed after this hook).
    fn heartbeat_request(&self, conn: &Connection, msg: &Message) {}
    /// Before the service lookup. An error becomes the reply (unlike Go, where the return
    /// value is ignored on the TCP path).
    fn pre_handle_request(&self, ctx: &Context) -> Result<(), ServiceError> {
        Ok(())
    }
    /// True when this plugin opens a span for each call with
    /// [`call_span`](Self::call_span). Asked once, when the server is built; a server whose
    /// plugins all answer false never calls it.
    fn traces_calls(&self) -> bool {
        false
    }
    /// The span a call runs in, for plugins that trace (OpenTelemetry): asked once the
    /// request is in flight, before `pre_handle_request`. The first plugin that returns one
    /// wins; otherwise the server's own `debug`-level `rpc.server` span is used. The lookup,
    /// `pre_call`, the method (so a call the method makes becomes a child of this span) and
    /// `post_call` run inside it, so `post_call` can record the outcome on
    /// `tracing::Span::current()`.
    fn call_span(&self, ctx: &Context) -> Option<tracing::Span> {
        None
    }
    /// Before the method runs, with the (undecoded) argument payload. An error becomes the reply.
    fn pre_call(&self, ctx: &Context, payload: &bytes::Bytes) -> Result<(), ServiceError> {
        Ok(())
    }
    /// After the method ran, with its result.
    fn post_call(&self, ctx: &Context, result: &HandlerResult) {}
    /// Before the reply is queued for writing.
    fn pre_write_response(&self, ctx: &Context, reply: &Message) {}
    /// After the reply was queued for the connection's writer.
    fn post_write_response(&self, ctx: &Context, reply: &Message) {}
    /// Before a server push is written.
    fn pre_write_request(&self, conn: &Connection, msg: &Message) {}
    /// After a server push was queued (or failed).
    fn post_write_request(&self, conn: &Connection, msg: &Message, ok: bool) {}
}
