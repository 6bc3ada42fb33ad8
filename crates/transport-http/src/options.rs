//! Settings of the HTTP front end.

use crate::cors::CorsOptions;
use crate::routes::{RouteHandler, RouteResponse, Routes};
use fastrpc_client::ClientOptions;
use std::time::Duration;

/// Settings of a [`Gateway`](crate::Gateway): which HTTP paths are on, CORS, and the byte and time
/// budgets HTTP peers get.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Serve rpcx's HTTP gateway (`X-RPCX-*` headers, §2.2). Default on (rpcx's
    /// `DisableHTTPGateway = false`).
    pub gateway: bool,
    /// Serve JSON-RPC 2.0 for requests with `X-JSONRPC-2.0: true` (§2.3). Default on (rpcx's
    /// `DisableJSONRPC = false`).
    pub jsonrpc: bool,
    /// CORS for browsers (rpcx's `SetCORS`); `None` (the default) adds no CORS headers.
    pub cors: Option<CorsOptions>,
    /// The largest request body one HTTP request may carry; a larger one gets `413`. Default
    /// 4 MiB.
    pub max_body_bytes: usize,
    /// Request bodies held at once by all HTTP requests together (read and not yet answered); a
    /// request that would go over gets `503`. Default 64 MiB.
    pub max_total_body_bytes: usize,
    /// How long a new connection may take to send its first byte, and an HTTP request its
    /// head; then the connection is closed. Default 30 s.
    pub header_timeout: Duration,
    /// The in-memory rpcx connection to the server that carries the calls (timeouts, byte
    /// budgets). Default [`ClientOptions::default`] (30 s per call).
    pub client: ClientOptions,
    /// Buffer of the in-memory pipe between the front end and the server. Default 256 KiB.
    pub pipe_buffer_bytes: usize,
    /// Extra `GET` paths (see [`HttpOptions::route`]). Default none.
    pub(crate) routes: Routes,
}

impl HttpOptions {
    /// Default for [`HttpOptions::max_body_bytes`]: 4 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;
    /// Default for [`HttpOptions::max_total_body_bytes`]: 64 MiB.
    pub const DEFAULT_MAX_TOTAL_BODY_BYTES: usize = 64 << 20;

    /// Turns the HTTP gateway on or off.
    pub fn gateway(mut self, on: bool) -> Self {
        self.gateway = on;
        self
    }

    /// Turns JSON-RPC 2.0 on or off.
    pub fn jsonrpc(mut self, on: bool) -> Self {
        self.jsonrpc = on;
        self
    }

    /// Sets CORS.
    pub fn cors(mut self, cors: CorsOptions) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Sets the per-request body limit.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets the limit of body bytes held by all requests together.
    pub fn max_total_body_bytes(mut self, bytes: usize) -> Self {
        self.max_total_body_bytes = bytes;
        self
    }

    /// Sets the first-byte and request-head timeout.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Serves `GET path` (and `HEAD`) on the gateway's port from `handler`, for example a
    /// Prometheus scrape at `/metrics` beside rpcx's gateway and JSON-RPC:
    ///
    /// ```no_run
    /// # fn render() -> String { String::new() }
    /// use fastrpc_transport_http::{HttpOptions, RouteResponse};
    /// let opts = HttpOptions::default().route("/metrics", || {
    ///     RouteResponse::new("text/plain; version=0.0.4", render())
    /// });
    /// ```
    ///
    /// A route takes over its exact path only: every other path stays the gateway's, as in
    /// rpcx, which routes by `X-RPCX-*` headers. A request to the path that carries
    /// `X-RPCX-ServicePath` or `X-JSONRPC-2.0` still goes to the gateway.
    pub fn route(
        mut self,
        path: impl Into<String>,
        handler: impl Fn() -> RouteResponse + Send + Sync + 'static,
    ) -> Self {
        let handler: RouteHandler = std::sync::Arc::new(handler);
        self.routes.add(path.into(), handler);
        self
    }

    /// Sets the options of the in-memory rpcx connection.
    pub fn client(mut self, opts: ClientOptions) -> Self {
        self.client = opts;
        self
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            gateway: true,
            jsonrpc: true,
            cors: None,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_total_body_bytes: Self::DEFAULT_MAX_TOTAL_BODY_BYTES,
            header_timeout: Duration::from_secs(30),
            client: ClientOptions::default(),
            pipe_buffer_bytes: 256 << 10,
            routes: Routes::default(),
        }
    }
}
