//! Middleware as functions: tower [`Layer`](tower_layer::Layer)s around handlers, and around
//! client calls ([`LayeredCall`], [`CallService`]).
//!
//! A handler becomes a `tower::Service<Request>` ([`HandlerService`]) answering
//! `Bytes` or a [`HandlerError`] (the method's `ServiceError`), so tower's own layers
//! (timeout, concurrency limit, load shedding, rate limit) and users' layers apply without
//! glue; the result is a handler again. Nothing changes on the server's fast path: only the
//! methods you wrap go through the layers. The rpcx plugin hooks stay for rpcx parity.

mod call;
mod handler;
mod service;

pub use call::{CallRequest, CallResponse, CallService, LayeredCall, LayeredCallError};
pub use handler::{HandlerError, HandlerService, Request, layer_handler};
pub use service::LayeredService;

/// The error type of layered services (tower's layers box their errors).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
