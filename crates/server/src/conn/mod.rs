//! One server connection, split by concern:
//!
//! - [`handle`]: the [`Connection`] handle (push, close) and its per-connection state;
//! - [`account`]: the connection's byte budgets (queued reply bytes, request bytes in flight)
//!   and how written frames give their bytes back;
//! - [`serve`]: setting a connection up and tearing it down (writer task, registry, shutdown);
//! - [`read`]: the read loop, which stops reading while a budget is reached;
//! - [`dispatch`]: from a decoded request to a reply (plugins, auth, handler, deadline);
//! - [`reply`]: reply batching and the in-flight guard of each request;
//! - [`registry`]: the open connections of a server, and its connection cap.
//!
//! Handlers are polled once inline by the reader and spawned only when not ready, and the
//! replies ready at once go to the writer as one batch: the fast path allocates nothing per
//! call beyond the request and reply themselves, and takes no lock.

mod account;
mod dispatch;
mod handle;
mod read;
mod registry;
mod reply;
mod serve;

pub use handle::{Connection, PushError};
pub(crate) use registry::Registry;
pub(crate) use serve::serve;
