//! The in-memory rpcx connection that carries HTTP calls to the server.
//!
//! Every HTTP request becomes an rpcx request on one multiplexed connection to the fastrpc
//! [`Server`], made of a `tokio::io::duplex` pipe: one end served by
//! [`Server::serve_connection`], the other driven by a [`Client`]. So the gateway goes through
//! the server's own dispatch (plugins, limits, deadlines, graceful shutdown) with no server
//! change. When the connection dies (the server reaped it, or shut down), the next request makes
//! a new one.

use fastrpc_client::{Client, ClientOptions};
use fastrpc_server::Server;
use std::sync::Mutex;

/// The peer name the server sees for gateway calls.
pub(crate) const BRIDGE_PEER: &str = "http-gateway";

pub(crate) struct Bridge {
    server: Server,
    opts: ClientOptions,
    pipe_buffer: usize,
    client: Mutex<Option<Client>>,
}

impl Bridge {
    pub(crate) fn new(server: Server, opts: ClientOptions, pipe_buffer: usize) -> Bridge {
        Bridge {
            server,
            opts,
            pipe_buffer: pipe_buffer.max(4096),
            client: Mutex::new(None),
        }
    }

    pub(crate) fn server(&self) -> &Server {
        &self.server
    }

    /// The live connection, made (again) if there is none.
    pub(crate) fn client(&self) -> Client {
        let mut slot = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return c.clone();
        }
        let (server_end, client_end) = tokio::io::duplex(self.pipe_buffer);
        let server = self.server.clone();
        tokio::spawn(async move { server.serve_connection(server_end, BRIDGE_PEER).await });
        let client = Client::from_io(client_end, format!("memu@{BRIDGE_PEER}"), self.opts.clone());
        *slot = Some(client.clone());
        client
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(c) = self.client.get_mut().ok().and_then(|c| c.take()) {
            c.close();
        }
    }
}
