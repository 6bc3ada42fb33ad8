//! The [`Server`], its builder, serving and graceful shutdown.

use crate::handler::{Handler, Service, handler_fn};
use crate::{Connection, Context, ServerOptions, ServerPlugin, ServiceError};
use fastrpc_codec::Payload;
use fastrpc_core::Message;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{Notify, watch};

/// Checks the `__AUTH` token of a request (`""` when absent). An `Err` is sent to the caller
/// as an error reply and the connection is closed, as rpcx's `AuthFunc` does. Heartbeats are
/// not checked.
pub type AuthFn = dyn Fn(&Message, &str) -> Result<(), String> + Send + Sync;

/// Service name -> method name -> handler. Looked up on every request, so with FxHash rather
/// than SipHash (the keys come from peers, but a flood of distinct names costs them a frame each
/// and the table only holds what was registered).
pub(crate) type ServiceTable = FxHashMap<String, FxHashMap<String, Arc<dyn Handler>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Running,
    Draining,
    Stopped,
}

pub(crate) struct Inner {
    pub(crate) services: ServiceTable,
    service_meta: Vec<(String, String)>,
    pub(crate) plugins: Vec<Arc<dyn ServerPlugin>>,
    pub(crate) auth: Option<Arc<AuthFn>>,
    pub(crate) opts: ServerOptions,
    pub(crate) push_seq: AtomicU64,
    pub(crate) conns: Mutex<HashMap<u64, Connection>>,
    pub(crate) next_conn_id: AtomicU64,
    pub(crate) state: watch::Sender<State>,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) drained: Notify,
}

/// An rpcx server: a service table plus plugins, auth and options. Cheap to clone.
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut services: Vec<_> = self.inner.services.keys().collect();
        services.sort();
        f.debug_struct("Server")
            .field("services", &services)
            .finish()
    }
}

/// Builds a [`Server`].
#[derive(Default)]
pub struct ServerBuilder {
    services: ServiceTable,
    service_meta: Vec<(String, String)>,
    plugins: Vec<Arc<dyn ServerPlugin>>,
    auth: Option<Arc<AuthFn>>,
    opts: ServerOptions,
}

impl ServerBuilder {
    /// Sets the options.
    pub fn options(mut self, opts: ServerOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Registers a service under its own name (see `#[fastrpc::service]`).
    pub fn service<S: Service>(self, service: S) -> Self {
        let name = service.service_name().to_owned();
        self.service_named(name, service, "")
    }

    /// Registers a service under `name` with registry metadata (a URL query such as
    /// `weight=10&group=g1`), which registry plugins publish.
    pub fn service_named<S: Service>(
        mut self,
        name: impl Into<String>,
        service: S,
        metadata: &str,
    ) -> Self {
        let name = name.into();
        let methods = self.services.entry(name.clone()).or_default();
        for (method, h) in Arc::new(service).methods() {
            methods.insert(method, h);
        }
        self.note_service(name, metadata);
        self
    }

    /// Registers one method from an async function or closure (rpcx's `RegisterFunctionName`).
    pub fn handler<F, A, R, E, Fut>(self, service: &str, method: &str, f: F) -> Self
    where
        F: Fn(Context, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        A: Payload,
        R: Payload,
        E: Into<ServiceError> + 'static,
    {
        self.raw_handler(service, method, handler_fn(f))
    }

    /// Registers an already type-erased handler.
    pub fn raw_handler(mut self, service: &str, method: &str, h: Arc<dyn Handler>) -> Self {
        self.services
            .entry(service.to_owned())
            .or_default()
            .insert(method.to_owned(), h);
        self.note_service(service.to_owned(), "");
        self
    }

    /// Sets the registry metadata of `service` (a URL query such as `weight=10&group=g1`),
    /// which registry plugins publish; useful for services registered with [`handler`](Self::handler).
    pub fn service_metadata(mut self, service: &str, metadata: &str) -> Self {
        self.note_service(service.to_owned(), metadata);
        self
    }

    /// Adds a plugin.
    pub fn plugin<P: ServerPlugin>(mut self, plugin: P) -> Self {
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Sets the auth function (checks `__AUTH`).
    pub fn auth<F>(mut self, f: F) -> Self
    where
        F: Fn(&Message, &str) -> Result<(), String> + Send + Sync + 'static,
    {
        self.auth = Some(Arc::new(f));
        self
    }

    /// Builds the server and tells the plugins about every service.
    pub fn build(self) -> Server {
        for (name, meta) in &self.service_meta {
            for p in &self.plugins {
                if let Err(e) = p.register(name, meta) {
                    tracing::warn!(service = %name, error = %e, "plugin failed to register service");
                }
            }
        }
        let (state, _) = watch::channel(State::Running);
        Server {
            inner: Arc::new(Inner {
                services: self.services,
                service_meta: self.service_meta,
                plugins: self.plugins,
                auth: self.auth,
                opts: self.opts,
                push_seq: AtomicU64::new(1),
                conns: Mutex::new(HashMap::new()),
                next_conn_id: AtomicU64::new(1),
                state,
                in_flight: AtomicUsize::new(0),
                drained: Notify::new(),
            }),
        }
    }

    fn note_service(&mut self, name: String, meta: &str) {
        match self.service_meta.iter_mut().find(|(n, _)| *n == name) {
            Some((_, m)) if !meta.is_empty() => *m = meta.to_owned(),
            Some(_) => {}
            None => self.service_meta.push((name, meta.to_owned())),
        }
    }
}

impl Server {
    /// Starts building a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The registered service names.
    pub fn services(&self) -> Vec<String> {
        let mut v: Vec<_> = self.inner.services.keys().cloned().collect();
        v.sort();
        v
    }

    /// Binds `addr` and serves TCP connections in the background.
    pub async fn serve_tcp(&self, addr: impl ToSocketAddrs) -> std::io::Result<ServerHandle> {
        let listener = fastrpc_transport::tcp::bind(addr).await?;
        self.serve_listener(listener)
    }

    /// Serves connections accepted from `listener` in the background.
    pub fn serve_listener(&self, listener: TcpListener) -> std::io::Result<ServerHandle> {
        let local_addr = listener.local_addr()?;
        let server = self.clone();
        let accept = tokio::spawn(async move { server.accept_loop(listener).await });
        Ok(ServerHandle {
            server: self.clone(),
            local_addr,
            accept,
        })
    }

    async fn accept_loop(self, listener: TcpListener) {
        let mut state = self.inner.state.subscribe();
        let mut backoff = Duration::from_millis(5);
        loop {
            let accepted = tokio::select! {
                biased;
                _ = state.wait_for(|s| *s != State::Running) => return,
                r = listener.accept() => r,
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(5);
                    let _ = stream.set_nodelay(true);
                    let (r, w) = stream.into_split();
                    tokio::spawn(crate::conn::serve(
                        self.inner.clone(),
                        r,
                        w,
                        peer.to_string(),
                    ));
                }
                Err(e) => {
                    // Like Go: back off on accept errors (out of fds, ...), 5 ms doubling to 1 s.
                    tracing::warn!(error = %e, ?backoff, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Serves one connection over any byte stream (QUIC streams, Unix sockets, in-memory pipes)
    /// until it closes. `peer` names the remote side in logs and [`Connection::peer_addr`].
    pub async fn serve_connection<T>(&self, io: T, peer: impl Into<String>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (r, w) = tokio::io::split(io);
        crate::conn::serve(self.inner.clone(), r, w, peer.into()).await;
    }

    /// The connections open now (rpcx's `ActiveClientConn`), for server push.
    pub fn connections(&self) -> Vec<Connection> {
        self.inner.conns.lock().unwrap().values().cloned().collect()
    }

    /// Requests in flight across all connections.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// Graceful shutdown: stop accepting, answer new calls with [`SHUTTING_DOWN`](crate::SHUTTING_DOWN),
    /// let the calls in flight finish, then close every connection. After `grace`, connections
    /// are closed even if calls are still running. Plugins are told to unregister every
    /// service first (so registries stop sending traffic). Returns true when everything in
    /// flight finished within `grace`.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        if *self.inner.state.borrow() == State::Running {
            self.inner.state.send_replace(State::Draining);
            // Pairs with the fence in the reader: see `InFlight::enter`.
            std::sync::atomic::fence(Ordering::SeqCst);
            for (name, _) in &self.inner.service_meta {
                for p in &self.inner.plugins {
                    if let Err(e) = p.unregister(name) {
                        tracing::warn!(service = %name, error = %e, "plugin failed to unregister");
                    }
                }
            }
            let unregistered = self.inner.plugins.iter().map(|p| p.unregistered());
            let all = futures_util::future::join_all(unregistered);
            if tokio::time::timeout_at(deadline, all).await.is_err() {
                tracing::warn!("plugins did not finish unregistering before the shutdown deadline");
            }
        }
        let drained = loop {
            let notified = self.inner.drained.notified();
            if self.in_flight() == 0 {
                break true;
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => break self.in_flight() == 0,
            }
        };
        self.inner.state.send_replace(State::Stopped);
        for c in self.connections() {
            c.close();
        }
        drained
    }
}

/// A server serving a listener in the background.
#[derive(Debug)]
pub struct ServerHandle {
    server: Server,
    local_addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Graceful shutdown of the whole server (see [`Server::shutdown`]).
    pub async fn shutdown(self, grace: Duration) -> bool {
        let drained = self.server.shutdown(grace).await;
        let _ = self.accept.await;
        drained
    }
}
