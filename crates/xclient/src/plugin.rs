//! Client plugins: hooks around calls, connections, encoding and selection (rpcx's client
//! plugin interfaces, as one trait whose methods all default to doing nothing).

use crate::discovery::ServerEntry;
use crate::selector::SelectRequest;
use fastrpc_client::{ClientError, Message};
use std::fmt;
use std::sync::Arc;

/// The call a hook is about.
#[derive(Debug, Clone, Copy)]
pub struct CallInfo<'a> {
    /// The service path.
    pub service_path: &'a str,
    /// The method.
    pub method: &'a str,
}

/// Hooks into an XClient. Implement only the ones you need.
///
/// Hooks run inline on the calling task, so keep them short and never block.
pub trait ClientPlugin: Send + Sync + 'static {
    /// Before a call selects any server (rpcx `PreCall`). Returning `Err(text)` aborts the
    /// call with [`XClientError::Plugin`](crate::XClientError::Plugin).
    fn pre_call(&self, call: &CallInfo<'_>) -> Result<(), String> {
        let _ = call;
        Ok(())
    }

    /// After a call finished, with the server that answered (if any) and the outcome (rpcx
    /// `PostCall`).
    fn post_call(
        &self,
        call: &CallInfo<'_>,
        server: Option<&str>,
        outcome: Result<(), &crate::XClientError>,
    ) {
        let _ = (call, server, outcome);
    }

    /// A connection to `server` was established (rpcx `ConnCreated` / `ClientConnected`).
    fn conn_created(&self, server: &str) {
        let _ = server;
    }

    /// Connecting to `server` failed (rpcx `ConnCreateFailed`).
    fn conn_create_failed(&self, server: &str, error: &ClientError) {
        let _ = (server, error);
    }

    /// The connection to `server` closed, for whatever reason (rpcx
    /// `ClientConnectionClose`).
    fn conn_closed(&self, server: &str) {
        let _ = server;
    }

    /// The request of one attempt, before it is encoded and sent (rpcx
    /// `ClientBeforeEncode`). The payload is already serialized; metadata may be changed.
    fn before_encode(&self, msg: &mut Message) {
        let _ = msg;
    }

    /// The reply of one attempt, after it was read and before its payload is decoded (rpcx
    /// `ClientAfterDecode`).
    fn after_decode(&self, msg: &Message) {
        let _ = msg;
    }

    /// Wraps selection (rpcx `SelectNodePlugin.WrapSelect`): sees the usable servers and the
    /// selector's choice, and returns the server to use (or `None` for none).
    fn wrap_select<'s>(
        &self,
        req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
        selected: Option<&'s ServerEntry>,
    ) -> Option<&'s ServerEntry> {
        let _ = (req, servers);
        selected
    }
}

/// The plugins of one client, run in registration order.
#[derive(Clone, Default)]
pub(crate) struct Plugins(Arc<Vec<Arc<dyn ClientPlugin>>>);

impl fmt::Debug for Plugins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plugins({})", self.0.len())
    }
}

impl Plugins {
    pub(crate) fn new(list: Vec<Arc<dyn ClientPlugin>>) -> Plugins {
        Plugins(Arc::new(list))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn ClientPlugin>> {
        self.0.iter()
    }

    pub(crate) fn wrap_select<'s>(
        &self,
        req: &SelectRequest<'_>,
        servers: &'s [ServerEntry],
        mut selected: Option<&'s ServerEntry>,
    ) -> Option<&'s ServerEntry> {
        for p in self.0.iter() {
            selected = p.wrap_select(req, servers, selected);
        }
        selected
    }
}
