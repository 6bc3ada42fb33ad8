//! [`RegistrarPlugin`]: publishes the server's services in a registry.

use crate::{BoxFuture, ServerPlugin};
use fastrpc_discovery::Registrar;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A [`ServerPlugin`] that publishes every service of the server through a [`Registrar`]
/// (etcd, ZooKeeper, Consul, Redis, mDNS) under the server's key, and removes them on
/// graceful shutdown, before the connections drain (rpcx's register plugins).
///
/// The key is the `network@host:port` address clients should dial (rpcx's
/// `ServiceAddress`): the address the server listens on, or the one it is reached at from
/// outside. Registry operations run in order on a background task, so a shutdown that comes
/// while the first registration is still in progress removes what it wrote.
///
/// ```no_run
/// # use fastrpc_server::{RegistrarPlugin, Server};
/// # fn demo(registrar: impl fastrpc_discovery::Registrar) {
/// let server = Server::builder()
///     .plugin(RegistrarPlugin::new(registrar, "tcp@10.0.0.5:8972"))
///     // .service(...)
///     .build(); // inside a tokio runtime: registration starts here
/// # }
/// ```
pub struct RegistrarPlugin {
    server_key: String,
    registrar: Arc<dyn Registrar>,
    ops: Mutex<Option<mpsc::UnboundedSender<Op>>>,
}

enum Op {
    Register { service: String, metadata: String },
    Unregister { service: String },
    Flush(oneshot::Sender<()>),
}

impl RegistrarPlugin {
    /// Publishes the server's services through `registrar` under `server_key`
    /// (`tcp@10.0.0.5:8972`).
    pub fn new(registrar: impl Registrar, server_key: impl Into<String>) -> RegistrarPlugin {
        RegistrarPlugin::from_arc(Arc::new(registrar), server_key)
    }

    /// Like [`new`](Self::new), for a registrar shared with other code.
    pub fn from_arc(
        registrar: Arc<dyn Registrar>,
        server_key: impl Into<String>,
    ) -> RegistrarPlugin {
        RegistrarPlugin {
            server_key: server_key.into(),
            registrar,
            ops: Mutex::new(None),
        }
    }

    /// The key services are published under.
    pub fn server_key(&self) -> &str {
        &self.server_key
    }

    /// Queues `op` for the worker, starting it on first use (which needs a tokio runtime).
    fn send(&self, op: Op) -> Result<(), String> {
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        if ops.is_none() {
            let runtime = tokio::runtime::Handle::try_current().map_err(
                |_| "RegistrarPlugin needs a tokio runtime: build the server inside one",
            )?;
            let (tx, rx) = mpsc::unbounded_channel();
            runtime.spawn(worker(self.registrar.clone(), self.server_key.clone(), rx));
            *ops = Some(tx);
        }
        let tx = ops.as_ref().expect("started above");
        tx.send(op)
            .map_err(|_| "registrar worker stopped".to_owned())
    }
}

impl std::fmt::Debug for RegistrarPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrarPlugin")
            .field("server_key", &self.server_key)
            .finish_non_exhaustive()
    }
}

async fn worker(registrar: Arc<dyn Registrar>, key: String, mut ops: mpsc::UnboundedReceiver<Op>) {
    while let Some(op) = ops.recv().await {
        match op {
            Op::Register { service, metadata } => {
                if let Err(e) = registrar.register(&key, &service, &metadata).await {
                    tracing::warn!(%service, %key, error = %e,
                        "registering failed; the registrar keeps retrying");
                }
            }
            Op::Unregister { service } => {
                if let Err(e) = registrar.unregister(&key, &service).await {
                    tracing::warn!(%service, %key, error = %e, "unregistering failed");
                }
            }
            Op::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

impl ServerPlugin for RegistrarPlugin {
    fn register(&self, service: &str, metadata: &str) -> Result<(), String> {
        self.send(Op::Register {
            service: service.to_owned(),
            metadata: metadata.to_owned(),
        })
    }

    fn unregister(&self, service: &str) -> Result<(), String> {
        self.send(Op::Unregister {
            service: service.to_owned(),
        })
    }

    fn unregistered(&self) -> BoxFuture<()> {
        let (done, wait) = oneshot::channel();
        let queued = self.send(Op::Flush(done)).is_ok();
        Box::pin(async move {
            if queued {
                let _ = wait.await;
            }
        })
    }
}
