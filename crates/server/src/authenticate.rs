//! The server's auth check on its own, for front ends that are not rpcx connections.

use crate::Server;
use fastrpc_core::{Message, keys};

impl Server {
    /// Runs the auth function (if any) on `msg` with its `__AUTH` metadata, as a request read
    /// from a connection would be checked, without closing anything on failure.
    ///
    /// rpcx's HTTP gateway and JSON-RPC front end call the auth function before the service
    /// and answer a refusal with HTTP 401 (or JSON-RPC error -32603); a front end that forwards
    /// requests over one shared rpcx connection checks here first, so that one refused HTTP
    /// request does not close the connection other requests share. `Ok(())` when no auth
    /// function is set.
    pub fn authenticate(&self, msg: &Message) -> Result<(), String> {
        match &self.inner.auth {
            Some(auth) => auth(msg, msg.metadata.get(keys::AUTH).unwrap_or("")),
            None => Ok(()),
        }
    }
}
