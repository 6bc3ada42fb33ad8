//! The fastrpc server: rpcx services from plain async methods.
//!
//! A [`Server`] holds a table of services (`Arith`) and their methods (`Mul`). A method is any
//! async function from a [`Context`] and an argument to a reply; arguments and replies are
//! [`Payload`]s, decoded and encoded in whatever serialize type each request uses. With the
//! `#[service]` macro of `fastrpc-macros`, a plain `impl` block becomes a service.
//!
//! The server behaves as Go rpcx does on the wire: requests on one connection run concurrently
//! and may complete out of order; errors go back with status Error and `__rpcx_error__`, with
//! Go's exact texts for unknown services and methods; heartbeats are echoed; oneway requests get
//! no reply; `__AUTH` is checked by the auth function (a failure gets an error reply, then the
//! connection is closed); `__ServerTimeout` becomes the handler's deadline; replies to compressed
//! requests are gzipped above 1024 bytes; and the server can push messages to a connected client.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fastrpc_server::{Context, Server, ServiceError};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Args { #[serde(rename = "A")] a: i64, #[serde(rename = "B")] b: i64 }
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Reply { #[serde(rename = "C")] c: i64 }
//!
//! let server = Server::builder()
//!     .handler("Arith", "Mul", |_ctx: Context, args: Args| async move {
//!         Ok::<_, ServiceError>(Reply { c: args.a * args.b })
//!     })
//!     .build();
//! let running = server.serve_tcp("127.0.0.1:8972").await?;
//! println!("listening on {}", running.local_addr());
//! running.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

mod accept;
mod authenticate;
mod budget;
mod conn;
mod context;
mod error;
mod handler;
mod listen_addr;
mod log_limit;
mod options;
mod panic;
mod plugin;
pub mod reflection;
mod registrar;
mod server;
mod shared;
mod shutdown;
mod stats;
#[cfg(feature = "tls")]
mod tls;

pub use budget::BudgetUsage;
pub use conn::{Connection, PushError};
pub use context::Context;
pub use error::ServiceError;
/// Why [`Server::serve`] could not listen on a `network@addr`.
pub use fastrpc_transport::network::NetworkError;
pub use handler::{BoxFuture, Handler, HandlerResult, Service, handler_fn};
pub use listen_addr::ListenAddr;
pub use options::ServerOptions;
pub use plugin::{PluginError, ServerPlugin};
pub use registrar::RegistrarPlugin;
pub use server::{Server, ServerBuilder, ServerHandle};
pub use shared::AuthFn;
pub use shutdown::ShutdownReport;
pub use stats::ServerStats;

pub use fastrpc_codec::{Payload, Proto, Raw};
pub use fastrpc_core::{Message, Metadata, SerializeType};

/// The error text sent to requests that arrive while the server drains for shutdown.
pub use fastrpc_core::errors::SHUTTING_DOWN;
/// The error text when a handler's `__ServerTimeout` deadline passes (Go's `ctx.Err()`).
pub const DEADLINE_EXCEEDED: &str = "context deadline exceeded";
