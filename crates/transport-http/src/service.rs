//! The HTTP front end as a hyper service: routing, byte-bounded bodies, CORS.

use crate::bridge::Bridge;
use crate::headers::{self as h, get};
use crate::options::HttpOptions;
use crate::response::{Body, full, text};
use crate::{gateway, jsonrpc};
use bytes::{Bytes, BytesMut};
use fastrpc_server::Server;
use http::{HeaderValue, Method, Request, Response, StatusCode, header::ALLOW};
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest request head (request line and headers) hyper buffers per connection.
const MAX_HEAD_BYTES: usize = 64 << 10;

/// rpcx's HTTP gateway and JSON-RPC 2.0 in front of a fastrpc [`Server`]. Cheap to clone.
///
/// Calls reach the server over one in-memory rpcx connection, so they go through its usual
/// dispatch. Serve HTTP/1 connections with [`Gateway::serve_http`], share the rpcx TCP port
/// with [`Gateway::serve`] / [`Gateway::serve_stream`], or call [`Gateway::handle`] from
/// another HTTP server.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) bridge: Bridge,
    pub(crate) opts: HttpOptions,
    bodies: Arc<Semaphore>,
}

/// One request's answer, boxed so the compiler proves it `Send` here rather than through
/// hyper's generic connection future.
type HandleFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>>;

/// Why a request body was not taken.
enum BodyError {
    TooLarge,
    Busy,
    Broken(String),
}

impl Gateway {
    /// A front end for `server` with `opts`.
    pub fn new(server: Server, opts: HttpOptions) -> Gateway {
        let bridge = Bridge::new(server, opts.client.clone(), opts.pipe_buffer_bytes);
        let bodies = Arc::new(Semaphore::new(
            opts.max_total_body_bytes.min(Semaphore::MAX_PERMITS),
        ));
        Gateway {
            shared: Arc::new(Shared {
                bridge,
                opts,
                bodies,
            }),
        }
    }

    /// The settings.
    pub fn options(&self) -> &HttpOptions {
        &self.shared.opts
    }

    /// The server calls go to.
    pub fn server(&self) -> &Server {
        self.shared.bridge.server()
    }

    /// Request body bytes held now by all requests (read and not yet answered), from the front
    /// end's own accounting; at most [`HttpOptions::max_total_body_bytes`].
    pub fn body_bytes_held(&self) -> usize {
        let max = self
            .shared
            .opts
            .max_total_body_bytes
            .min(Semaphore::MAX_PERMITS);
        max - self.shared.bodies.available_permits()
    }

    /// Serves one HTTP/1 connection until it closes (keep-alive requests included). The
    /// request head must arrive within [`HttpOptions::header_timeout`].
    pub async fn serve_http<IO>(&self, io: IO) -> Result<(), hyper::Error>
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let this = self.clone();
        let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
            let this = this.clone();
            let fut: HandleFuture = Box::pin(async move { this.handle(req).await });
            async move { Ok::<_, Infallible>(fut.await) }
        });
        http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.shared.opts.header_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            .serve_connection(TokioIo::new(io), svc)
            .await
    }

    /// Answers one HTTP request: a CORS preflight, a JSON-RPC call (`X-JSONRPC-2.0: true`) or
    /// a gateway call (`GET`, `POST`, `PUT`), each only when switched on.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let opts = &self.shared.opts;
        let (parts, body) = req.into_parts();
        if let Some(cors) = &opts.cors {
            if let Some(headers) = cors.preflight(&parts.method, &parts.headers) {
                let mut res = full(StatusCode::NO_CONTENT, Bytes::new());
                res.headers_mut().extend(headers);
                return res;
            }
        }
        let is_jsonrpc = opts.jsonrpc && get(&parts.headers, h::X_JSONRPC) == "true";
        if let Some(res) = self.route(&parts, is_jsonrpc) {
            return res;
        }
        let mut res = if !is_jsonrpc && !opts.gateway {
            text(StatusCode::NOT_FOUND, "404 page not found")
        } else if !is_jsonrpc && !is_gateway_method(&parts.method) {
            let mut res = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, PUT"));
            res
        } else {
            match self.read_body(body).await {
                Err(e) => body_error(e),
                Ok((bytes, _held)) => {
                    let bridge = &self.shared.bridge;
                    if is_jsonrpc {
                        jsonrpc::handle(bridge, &parts.headers, bytes).await
                    } else {
                        gateway::handle(bridge, &parts, bytes).await
                    }
                }
            }
        };
        if let Some(cors) = &opts.cors {
            cors.decorate(&parts.headers, res.headers_mut());
        }
        res
    }

    /// The answer of an extra route for a `GET`/`HEAD` of its path that is not an rpcx call.
    fn route(&self, parts: &http::request::Parts, is_jsonrpc: bool) -> Option<Response<Body>> {
        let routes = &self.shared.opts.routes;
        if routes.is_empty()
            || is_jsonrpc
            || !(parts.method == Method::GET || parts.method == Method::HEAD)
            || !get(&parts.headers, h::X_SERVICE_PATH).is_empty()
        {
            return None;
        }
        let handler = routes.get(parts.uri.path())?;
        let answer = handler();
        let body = if parts.method == Method::HEAD {
            Bytes::new()
        } else {
            answer.body
        };
        let mut res = full(StatusCode::OK, body);
        if let Ok(v) = HeaderValue::from_str(&answer.content_type) {
            res.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        Some(res)
    }

    /// Reads the whole body within the per-request and the shared byte budgets; the permits
    /// hold the bytes' share of the shared budget until dropped.
    async fn read_body<B>(&self, body: B) -> Result<(Bytes, Vec<OwnedSemaphorePermit>), BodyError>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let max = self.shared.opts.max_body_bytes;
        if hyper::body::Body::size_hint(&body).lower() > max as u64 {
            return Err(BodyError::TooLarge);
        }
        let mut body = std::pin::pin!(body);
        let mut buf = BytesMut::new();
        let mut held = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if buf.len() + data.len() > max {
                return Err(BodyError::TooLarge);
            }
            let n = u32::try_from(data.len()).map_err(|_| BodyError::TooLarge)?;
            let permit = self
                .shared
                .bodies
                .clone()
                .try_acquire_many_owned(n)
                .map_err(|_| BodyError::Busy)?;
            held.push(permit);
            buf.extend_from_slice(&data);
        }
        Ok((buf.freeze(), held))
    }
}

fn is_gateway_method(m: &Method) -> bool {
    m == Method::GET || m == Method::POST || m == Method::PUT
}

fn body_error(e: BodyError) -> Response<Body> {
    match e {
        BodyError::TooLarge => text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
        BodyError::Busy => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many request body bytes held; try again",
        ),
        BodyError::Broken(e) => text(StatusCode::BAD_REQUEST, &format!("bad request body: {e}")),
    }
}
