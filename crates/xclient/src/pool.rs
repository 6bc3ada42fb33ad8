//! Many XClients behind one handle: a round-robin pool, and one client for many services.

use crate::discovery::Discovery;
use crate::error::XClientError;
use crate::fail_mode::FailMode;
use crate::options::XClientOptions;
use crate::selector::SelectMode;
use crate::xclient::XClient;
use fastrpc_client::{CallOptions, Payload, Reply};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// `count` XClients of one service, handed out in turn (rpcx `XClientPool`). Each member has
/// its own connections, so a pool spreads load over several connections per server.
#[derive(Debug)]
pub struct XClientPool {
    clients: Vec<XClient>,
    next: AtomicUsize,
}

impl XClientPool {
    /// A pool of `count` (at least 1) clients built like [`XClient::new`].
    pub fn new(
        count: usize,
        service_path: &str,
        fail_mode: FailMode,
        select_mode: SelectMode,
        discovery: impl Discovery,
        options: XClientOptions,
    ) -> Result<XClientPool, XClientError> {
        let discovery: Arc<dyn Discovery> = Arc::new(discovery);
        let clients = (0..count.max(1))
            .map(|_| {
                XClient::new(
                    service_path,
                    fail_mode,
                    select_mode,
                    discovery.clone(),
                    options.clone(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(XClientPool {
            clients,
            next: AtomicUsize::new(0),
        })
    }

    /// The next client, round robin.
    pub fn get(&self) -> &XClient {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.clients[i % self.clients.len()]
    }

    /// Closes every client.
    pub fn close(&self) {
        for c in &self.clients {
            c.close();
        }
    }
}

/// One client for many service paths (rpcx `OneClient`): an XClient per service path is made
/// on first use from a template discovery ([`Discovery::clone_for_service`]) and kept.
#[derive(Debug)]
pub struct OneClient {
    template: Arc<dyn Discovery>,
    fail_mode: FailMode,
    select_mode: SelectMode,
    options: XClientOptions,
    clients: Mutex<HashMap<String, XClient>>,
}

impl OneClient {
    /// A client whose services are found through `template`.
    pub fn new(
        fail_mode: FailMode,
        select_mode: SelectMode,
        template: impl Discovery,
        options: XClientOptions,
    ) -> OneClient {
        OneClient {
            template: Arc::new(template),
            fail_mode,
            select_mode,
            options,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The XClient of `service_path`, made on first use.
    pub fn xclient(&self, service_path: &str) -> Result<XClient, XClientError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(service_path) {
            return Ok(c.clone());
        }
        let c = XClient::new(
            service_path,
            self.fail_mode,
            self.select_mode,
            self.template.clone_for_service(service_path),
            self.options.clone(),
        )?;
        clients.insert(service_path.to_owned(), c.clone());
        Ok(c)
    }

    /// Calls `service_path.method`.
    pub async fn call<A: Payload, R: Payload>(
        &self,
        service_path: &str,
        method: &str,
        args: &A,
    ) -> Result<R, XClientError> {
        self.xclient(service_path)?.call(method, args).await
    }

    /// Calls `service_path.method` with per-call options.
    pub async fn call_with<A: Payload, R: Payload>(
        &self,
        service_path: &str,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> Result<Reply<R>, XClientError> {
        self.xclient(service_path)?
            .call_with(method, args, opts)
            .await
    }

    /// Closes every XClient made so far.
    pub fn close(&self) {
        let clients = std::mem::take(&mut *self.clients.lock().unwrap_or_else(|p| p.into_inner()));
        for c in clients.values() {
            c.close();
        }
    }
}
