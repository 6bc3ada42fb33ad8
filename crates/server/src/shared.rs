//! State shared by the [`Server`](crate::Server) and its connections: the service table, the
//! plugins, the options, the lifecycle state and the server-wide byte budgets.
//!
//! It lives apart from `server.rs` so the connection code depends on this state only, never on
//! the server that starts it.

use crate::budget::ServerBudgets;
use crate::handler::Handler;
use crate::log_limit::LogLimit;
use crate::{ServerOptions, ServerPlugin};
use fastrpc_core::Message;
use rustc_hash::FxHashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use tokio::sync::{Notify, watch};

/// Checks the `__AUTH` token of a request (`""` when absent). An `Err` is sent to the caller
/// as an error reply and the connection is closed, as rpcx's `AuthFunc` does. Heartbeats are
/// not checked.
pub type AuthFn = dyn Fn(&Message, &str) -> Result<(), String> + Send + Sync;

/// Service name -> method name -> handler. Looked up on every request, so with FxHash rather
/// than SipHash (the keys come from peers, but a flood of distinct names costs them a frame each
/// and the table only holds what was registered).
pub(crate) type ServiceTable = FxHashMap<String, FxHashMap<String, Arc<dyn Handler>>>;

/// Where the server is in its life. Ordered: each state comes after the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum State {
    /// Serving.
    Running,
    /// Not accepting; requests read now get `SHUTTING_DOWN`; calls in flight finish.
    Draining,
    /// Readers stop; every connection flushes its writer and closes between whole frames.
    Closing,
    /// Past the deadline: writers are abandoned.
    Stopped,
}

pub(crate) struct Shared {
    pub(crate) services: ServiceTable,
    pub(crate) service_meta: Vec<(String, String)>,
    pub(crate) plugins: Vec<Arc<dyn ServerPlugin>>,
    /// The plugins that rewrite requests (most servers have none: the hook is then skipped).
    pub(crate) rewriters: Vec<Arc<dyn ServerPlugin>>,
    /// The plugins that open a span per call (most servers have none).
    pub(crate) tracers: Vec<Arc<dyn ServerPlugin>>,
    pub(crate) auth: Option<Arc<AuthFn>>,
    pub(crate) opts: ServerOptions,
    pub(crate) push_seq: AtomicU64,
    pub(crate) next_conn_id: AtomicU64,
    pub(crate) state: watch::Sender<State>,
    /// Requests read and not yet answered (their reply not yet handed to the writer).
    pub(crate) in_flight: AtomicUsize,
    pub(crate) drained: Notify,
    pub(crate) budgets: ServerBudgets,
    /// The counters behind `Server::stats`.
    pub(crate) counters: crate::stats::Counters,
    /// One line per second at most for handler panics.
    pub(crate) panic_log: LogLimit,
}
