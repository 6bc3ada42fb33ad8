//! rpcx's HTTP paths for fastrpc (`rpcx-protocol.md` §2): the **HTTP gateway** and **JSON-RPC
//! 2.0** on the rpcx TCP port, and **`http@` CONNECT tunnelling**.
//!
//! - [`Gateway`] is the HTTP front end of a fastrpc `Server`: rpcx's gateway (`X-RPCX-*`
//!   headers, §2.2), so `curl` calls any service, and JSON-RPC 2.0 for requests with
//!   `X-JSONRPC-2.0: true` (§2.3), each switchable in [`HttpOptions`], with optional
//!   [`CorsOptions`]. Calls reach the server over one in-memory rpcx connection (a
//!   `tokio::io::duplex` served by `Server::serve_connection`, driven by a multiplexed
//!   `Client`), so they take the server's usual path: plugins, limits, deadlines, graceful
//!   shutdown.
//! - Port sharing (§2.1): [`Gateway::serve`] accepts on a `TcpListener` and
//!   [`Gateway::serve_stream`] routes one accepted connection by its first byte (0x08 is rpcx,
//!   anything else HTTP/1).
//! - CONNECT (§2.4): [`serve_connect`] / [`accept_connect`] on the server side answer
//!   `CONNECT /_rpcx_` with `HTTP/1.0 200 Connected to rpcx` and hand the stream to the rpcx
//!   server; [`dial`] / [`connect_handshake`] on the client side return the stream for
//!   `Client::from_io`.
//!
//! It is not the `network@addr` seam: the transport base crate dispatches `http@...` here.
//!
//! ```no_run
//! # async fn run(server: fastrpc_server::Server) -> std::io::Result<()> {
//! use fastrpc_transport_http::{Gateway, HttpOptions};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8972").await?;
//! // rpcx clients and `curl -H 'X-RPCX-SerializeType: 1' ...` on one port.
//! Gateway::new(server, HttpOptions::default()).serve(listener).await;
//! # Ok(()) }
//! ```
//!
//! # Bounds
//!
//! A request head is at most 64 KiB and must arrive within [`HttpOptions::header_timeout`]
//! (30 s; also the wait for a new connection's first byte); a body at most
//! [`HttpOptions::max_body_bytes`] (4 MiB, else `413`); all bodies held at once at most
//! [`HttpOptions::max_total_body_bytes`] (64 MiB, else `503`, see
//! [`Gateway::body_bytes_held`]). Calls then fall under the in-memory connection's client
//! budgets and the server's own limits. A CONNECT head is at most 8 KiB.
//!
//! # Differences from rpcx
//!
//! Where Go rpcx has a bug or a quirk, this crate does the sensible thing:
//!
//! - **JSON-RPC `params` missing**: rpcx dereferences a nil pointer (net/http recovers the panic
//!   and drops the connection). Here the payload is JSON `null`, so the service gets its zero
//!   argument.
//! - **`Context-Type`**: rpcx answers JSON-RPC with the misspelled `Context-Type:
//!   application/json`; here the header is `Content-Type: application/json`.
//! - **JSON-RPC notifications**: rpcx starts them in a goroutine and answers at once; here the
//!   empty answer comes once the oneway request is written to the server (not when it has run),
//!   so the request's bytes stay within the body budget until the server holds them.
//! - **JSON-RPC batches**: rpcx does not support them (an array fails to parse, -32700). Here a
//!   batch runs its calls (at most 64 at a time) and answers an array in request order, leaving
//!   out notifications; an empty batch is -32600; a batch of notifications gets an empty body.
//! - **JSON-RPC request shape**: JSON that is not a request object (a number, a `method` that is
//!   not a string) is -32600 *Invalid Request* with `id: null`, as the JSON-RPC 2.0 spec says;
//!   rpcx answers -32700. `"id": null` is a call answered with `"id": null`; only an absent
//!   `id` is a notification (Go treats `null` as a notification too). A reply payload that is not
//!   JSON is -32603; an empty one is `"result": null`.
//! - **Gateway `X-RPCX-Heartbeat`**: rpcx sets the heartbeat bit and still calls the service;
//!   here the service is called and the bit is not set (a fastrpc server would echo a heartbeat
//!   instead of calling).
//! - **Gateway `X-RPCX-Oneway`**: as in rpcx the call runs to completion and its errors are
//!   reported (401/500); only the reply body is left empty.
//! - **Gateway `X-RPCX-CompressType`**: parsed and checked as in rpcx (an unparsable value is an
//!   error), then ignored: the body is the argument as it is (rpcx would hand the uncompressed
//!   body on with the gzip bit set, which cannot decode).
//! - **Gateway `X-RPCX-SerializeType` above 15**: an error (`serialize type N out of range
//!   0..=15`); Go silently truncates it to 4 bits.
//! - **Echo of `X-RPCX-*` on a refused request**: rpcx means to echo every incoming `X-RPCX-*`
//!   header but never does (it compares canonicalised names with `X-RPCX-`); here, as rpcx
//!   behaves, only Version, MessageID, ServicePath, ServiceMethod and SerializeType are set.
//! - **Plugin errors**: rpcx's gateway runs `PreReadRequest`/`PostReadRequest` itself and answers
//!   a failure `500` with the text as body. Here the plugins run inside the server on the
//!   in-memory connection, so a failing plugin becomes an error reply: `500` with
//!   `X-RPCX-ErrorMessage` (JSON-RPC: -32603). Handlers see the peer `http-gateway`, not the
//!   HTTP client's address.
//! - **Routing per request, not per connection**: cmux picks the gateway or JSON-RPC by the first
//!   request of a connection; here each request on a keep-alive connection is routed by its own
//!   `X-JSONRPC-2.0` header. With the gateway off, a non-JSON-RPC request gets `404`.
//! - **Bounded bodies and heads** (see *Bounds*); rpcx reads bodies without limit.
//! - **CONNECT**: wrong path `404 page not found`, other method at `/_rpcx_` `405 must CONNECT`,
//!   malformed head `400`; the connection is closed after each (net/http would keep serving
//!   other requests on it).

mod bridge;
mod connect;
mod cors;
mod gateway;
pub mod headers;
pub mod jsonrpc;
mod meta;
mod mux;
mod options;
mod response;
mod rewind;
mod routes;
mod service;

pub use connect::{
    CONNECTED, ConnectError, DEFAULT_HEAD_TIMEOUT, MAX_HEAD_BYTES, RPC_PATH, accept_connect,
    connect_handshake, dial, serve_connect, serve_connect_stream,
};
pub use cors::CorsOptions;
pub use mux::RPCX_MAGIC;
pub use options::HttpOptions;
pub use response::Body;
pub use rewind::Rewind;
pub use routes::{RouteHandler, RouteResponse};
pub use service::Gateway;
