//! The [`Server`], its builder, serving and graceful shutdown.

use crate::budget::{BudgetUsage, ServerBudgets};
use crate::conn::Registry;
use crate::handler::{Service, handler_fn};
use crate::listen_addr::ListenAddr;
use crate::log_limit::LogLimit;
use crate::reflection::ServiceInfo;
use crate::shared::{AuthFn, ServiceTable, Shared, State};
use crate::shutdown::ShutdownReport;
use crate::stats::ServerStats;
use crate::{Connection, Context, ServerOptions, ServerPlugin, ServiceError};
use fastrpc_codec::Payload;
use fastrpc_core::{Message, ServerAddr};
use fastrpc_transport::network::NetworkError;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{Notify, watch};

/// An rpcx server: a service table plus plugins, auth and options. Cheap to clone.
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<Shared>,
    conns: Arc<Registry>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsSetting>,
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
    /// What `#[service]` told about its services, by registered name (for reflection).
    described: HashMap<String, ServiceInfo>,
    reflection: bool,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsSetting>,
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
        if let Some(mut info) = service.describe() {
            info.name = name.clone();
            self.described.insert(name.clone(), info);
        }
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
    pub fn raw_handler(mut self, service: &str, method: &str, h: Arc<dyn crate::Handler>) -> Self {
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

    /// Enables the reflection service: `Reflection.GetServices` and `Reflection.GetService`,
    /// as Go rpcx's reflection plugin names them, describing every registered service (see
    /// [`reflection`](crate::reflection); `fastrpc describe` prints it). Ignored, with a
    /// warning, when a service named `Reflection` is registered already.
    pub fn reflection(mut self) -> Self {
        self.reflection = true;
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

    /// Serves TLS on every `tcp@` (and `tcp4@`, `tcp6@`) address of this server, as Go rpcx
    /// does when a server has a `TLSConfig` (feature `tls`). A configuration rustls refuses
    /// is reported when an address is served.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: fastrpc_transport::network::tls::ServerTls) -> Self {
        self.tls = Some(crate::tls::TlsSetting::from_server_tls(&tls));
        self
    }

    /// As [`ServerBuilder::tls`], with a rustls configuration built by the caller (feature
    /// `tls`).
    #[cfg(feature = "tls")]
    pub fn tls_config(
        mut self,
        config: Arc<fastrpc_transport::network::tls::rustls::ServerConfig>,
    ) -> Self {
        self.tls = Some(crate::tls::TlsSetting::Config(config));
        self
    }

    /// Builds the server and tells the plugins about every service.
    pub fn build(mut self) -> Server {
        if self.reflection {
            if crate::reflection::install(&mut self.services, &self.described) {
                self.note_service(crate::reflection::REFLECTION_SERVICE.to_owned(), "");
            } else {
                tracing::warn!("a service named Reflection exists; the reflection service is off");
            }
        }
        for (name, meta) in &self.service_meta {
            for p in &self.plugins {
                if let Err(e) = p.register(name, meta) {
                    tracing::warn!(service = %name, error = %e, "plugin failed to register service");
                }
            }
        }
        let (state, _) = watch::channel(State::Running);
        crate::panic::install_quiet_hook();
        Server {
            inner: Arc::new(Shared {
                services: self.services,
                service_meta: self.service_meta,
                rewriters: self
                    .plugins
                    .iter()
                    .filter(|p| p.rewrites_requests())
                    .cloned()
                    .collect(),
                tracers: self
                    .plugins
                    .iter()
                    .filter(|p| p.traces_calls())
                    .cloned()
                    .collect(),
                plugins: self.plugins,
                auth: self.auth,
                budgets: ServerBudgets::new(&self.opts),
                opts: self.opts,
                push_seq: AtomicU64::new(1),
                next_conn_id: AtomicU64::new(1),
                state,
                in_flight: AtomicUsize::new(0),
                drained: Notify::new(),
                panic_log: LogLimit::new(Duration::from_secs(1)),
                counters: Default::default(),
            }),
            conns: Arc::new(Registry::default()),
            #[cfg(feature = "tls")]
            tls: self.tls,
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
    ///
    /// As Go does when a server starts, the open-file soft limit is raised to the hard limit
    /// first; the listener gets the largest backlog the system allows.
    pub async fn serve_tcp(&self, addr: impl ToSocketAddrs) -> std::io::Result<ServerHandle> {
        self.note_fd_limit();
        let listener = fastrpc_transport::tcp::bind(addr).await?;
        self.serve_listener(listener)
    }

    /// Raises the open-file soft limit (as Go does at start) and says so when it stays below
    /// the connection cap.
    fn note_fd_limit(&self) {
        if let Some(limit) = fastrpc_transport::tcp::raise_fd_limit() {
            let max = self.inner.opts.max_connections as u64;
            if limit < max {
                tracing::info!(
                    fd_limit = limit,
                    max_connections = max,
                    "the open-file limit is below max_connections; accepts fail past it"
                );
            }
        }
    }

    /// Serves connections accepted from `listener` in the background (TLS on them when the
    /// server has a TLS configuration).
    pub fn serve_listener(&self, listener: TcpListener) -> std::io::Result<ServerHandle> {
        let local_addr = listener.local_addr()?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let listener =
                fastrpc_transport::network::tls::listen_over_tcp(listener, tls.config()?)?;
            return Ok(self.serve_boxed(listener, "tcp"));
        }
        let accept = tokio::spawn(crate::accept::accept_loop(
            self.inner.clone(),
            self.conns.clone(),
            listener,
        ));
        Ok(ServerHandle {
            server: self.clone(),
            addr: format!("tcp@{local_addr}"),
            socket_addr: Some(local_addr),
            accept,
        })
    }

    /// Binds `addr`, a `network@addr` such as `tcp@127.0.0.1:8972`, `unix@/run/app.sock`,
    /// `memu@name` or (with their features) `quic@...`, `kcp@...`, `ws@...`, `http@...`, and
    /// serves it in the background. Without `@` the network is `tcp`.
    ///
    /// The transport comes from the registry of
    /// [`fastrpc_transport::network`]: an unknown network is
    /// [`NetworkError::Unknown`], one whose crate is not compiled in
    /// [`NetworkError::NotCompiled`] (naming the feature to enable). `tcp`, `tcp4` and `tcp6`
    /// take the same path as [`Server::serve_tcp`].
    ///
    /// A server may serve any number of addresses: they share its services, connections and
    /// graceful shutdown ([`Server::shutdown`] closes every listener).
    pub async fn serve(&self, addr: &str) -> Result<ServerHandle, NetworkError> {
        let key =
            ServerAddr::parse(addr).map_err(|_| NetworkError::InvalidAddress(addr.to_owned()))?;
        let io_err = |source| NetworkError::Io {
            addr: key.to_string(),
            source,
        };
        if fastrpc_transport::tcp::is_tcp_network(&key.network) {
            self.note_fd_limit();
            let listener = fastrpc_transport::tcp::bind_network(&key.network, &key.address)
                .await
                .map_err(io_err)?;
            let mut handle = self.serve_listener(listener).map_err(io_err)?;
            if let Some(bound) = handle.socket_addr() {
                handle.addr = format!("{}@{bound}", key.network);
            }
            return Ok(handle);
        }
        let listener = fastrpc_transport::network::listen(addr).await?;
        Ok(self.serve_boxed(listener, &key.network))
    }

    /// Serves a listener of the network registry in the background.
    fn serve_boxed(
        &self,
        listener: Box<dyn fastrpc_transport::network::Listener>,
        network: &str,
    ) -> ServerHandle {
        let socket_addr = listener.socket_addr();
        let addr = format!("{network}@{}", listener.local_addr());
        let accept = tokio::spawn(crate::accept::accept_loop(
            self.inner.clone(),
            self.conns.clone(),
            listener,
        ));
        ServerHandle {
            server: self.clone(),
            addr,
            socket_addr,
            accept,
        }
    }

    /// Serves one connection over any byte stream (QUIC streams, Unix sockets, in-memory pipes)
    /// until it closes. `peer` names the remote side in logs and [`Connection::peer_addr`].
    /// The connection counts as open but is not refused at the connection cap (the caller
    /// accepted it).
    pub async fn serve_connection<T>(&self, io: T, peer: impl Into<String>)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (r, w) = tokio::io::split(io);
        self.conns.admit();
        crate::conn::serve(self.inner.clone(), self.conns.clone(), r, w, peer.into()).await;
    }

    /// The connections open now (rpcx's `ActiveClientConn`), for server push.
    pub fn connections(&self) -> Vec<Connection> {
        self.conns.list()
    }

    /// Requests in flight across all connections.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// What the server holds for its peers now, by its own accounting: queued reply bytes,
    /// request bytes in flight, bytes in partial frames, and open connections.
    pub fn budget_usage(&self) -> BudgetUsage {
        let b = &self.inner.budgets;
        BudgetUsage {
            queued_reply_bytes: b.queued.used(),
            in_flight_request_bytes: b.requests.used(),
            partial_frame_bytes: b.partial.used(),
            open_connections: self.conns.open(),
        }
    }

    /// The server's counters since it was built: bytes, calls, errors by kind, accepted and
    /// open connections (gorpc's stats; no exporter needed).
    pub fn stats(&self) -> ServerStats {
        self.inner.counters.snapshot(self.conns.open())
    }

    /// Graceful shutdown (see [`Server::shutdown_report`]); true when it was complete: every
    /// call drained and every reply written within `grace`.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.shutdown_report(grace).await.is_complete()
    }

    /// Graceful shutdown, lossless within `grace`: stop accepting; answer requests read from
    /// now on with [`SHUTTING_DOWN`](crate::SHUTTING_DOWN); let the calls in flight finish;
    /// then stop reading, write every reply produced, whole, and close each connection
    /// between frames. Returns when every connection has closed or `grace` has passed, and
    /// says which: past `grace`, calls still running are abandoned and writers still writing
    /// are stopped. Plugins are told to unregister every service first (so registries stop
    /// sending traffic).
    pub async fn shutdown_report(&self, grace: Duration) -> ShutdownReport {
        crate::shutdown::shutdown(&self.inner, &self.conns, grace).await
    }
}

/// A server serving a listener in the background.
#[derive(Debug)]
pub struct ServerHandle {
    server: Server,
    /// `network@addr` as bound.
    addr: String,
    socket_addr: Option<SocketAddr>,
    accept: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Where the listener is bound: [`ListenAddr::Ip`] for IP networks (with the port chosen
    /// when `:0` was asked for), [`ListenAddr::Unix`] for `unix@`, [`ListenAddr::Other`] for
    /// `memu@` and user networks. Never panics; [`ServerHandle::addr`] gives the full
    /// `network@addr` key.
    pub fn local_addr(&self) -> ListenAddr {
        if let Some(a) = self.socket_addr {
            return ListenAddr::Ip(a);
        }
        let (network, addr) = self.addr.split_once('@').unwrap_or(("tcp", &self.addr));
        if network == "unix" {
            ListenAddr::Unix(addr.into())
        } else {
            ListenAddr::Other {
                network: network.to_owned(),
                addr: addr.to_owned(),
            }
        }
    }

    /// The bound IP socket address, `None` for networks without one (`unix@`, `memu@`).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.socket_addr
    }

    /// The bound address as a `network@addr` server key, ready for `Client::connect` and
    /// registries: `tcp@127.0.0.1:43817` (the port chosen when `:0` was asked for),
    /// `unix@/run/app.sock`, `memu@name`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// True once this listener has stopped accepting (after a shutdown began).
    pub fn is_closed(&self) -> bool {
        self.accept.is_finished()
    }

    /// The server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Graceful shutdown of the whole server (see [`Server::shutdown`]): true when complete.
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.shutdown_report(grace).await.is_complete()
    }

    /// Graceful shutdown of the whole server, saying how it ended (see
    /// [`Server::shutdown_report`]).
    pub async fn shutdown_report(self, grace: Duration) -> ShutdownReport {
        let report = self.server.shutdown_report(grace).await;
        let _ = self.accept.await;
        report
    }
}
