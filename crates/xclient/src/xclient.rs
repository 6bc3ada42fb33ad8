//! [`XClient`]: one service path over every server discovery lists.

use crate::breaker::BreakerState;
use crate::connections::{Connections, ServerPush};
use crate::discovery::{Discovery, ServerFilter, ServerList};
use crate::error::{XClientError, classify_client_error};
use crate::fail_mode::{AllMode, FailMode, Failure, RetryPolicy, execute, execute_all};
use crate::options::XClientOptions;
use crate::plugin::{CallInfo, Plugins};
use crate::router::{ErrorClass, Router, Target};
use crate::selector::{SelectMode, SelectRequest, Selector};
use arc_swap::ArcSwapOption;
use fastrpc_client::{CallOptions, Message, Payload, Reply};
use fastrpc_core::{ByteStr, keys};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;

/// The internal cap rpcx puts on a broadcast without a deadline.
const BROADCAST_CAP: Duration = Duration::from_secs(60);

/// One server's answer to an [`XClient::inform`] call.
#[derive(Debug)]
pub struct Receipt<R> {
    /// The server key.
    pub address: String,
    /// Its reply or its error.
    pub result: Result<Reply<R>, XClientError>,
}

/// A client for one service path over all the servers a [`Discovery`] lists, with load
/// balancing, fail modes, circuit breakers and cached connections (rpcx's `XClient`).
///
/// Cloning is cheap and shares everything. Dropping the last clone (or [`close`](Self::close))
/// closes the connections. Must be created inside a tokio runtime: it spawns a task that
/// follows discovery.
#[derive(Clone, Debug)]
pub struct XClient {
    inner: Arc<Inner>,
}

struct Inner {
    service_path: String,
    /// The service path as the frame carries it, shared by every request (no copy per call).
    service_path_frame: ByteStr,
    fail_mode: FailMode,
    select_mode: SelectMode,
    policy: RetryPolicy,
    options: XClientOptions,
    filter: ServerFilter,
    router: Router,
    conns: Connections,
    plugins: Plugins,
    auth: ArcSwapOption<String>,
    watch_task: Mutex<Option<JoinHandle<()>>>,
    push_rx: Mutex<Option<mpsc::Receiver<ServerPush>>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XClient")
            .field("service_path", &self.service_path)
            .field("fail_mode", &self.fail_mode)
            .field("select_mode", &self.select_mode)
            .field("servers", &self.router.servers())
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(t) = self
            .watch_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
    }
}

impl XClient {
    /// A client for `service_path` (rpcx's `NewXClient`). Fails with
    /// [`XClientError::NoSelector`] for `SelectByUser` (use [`with_selector`](Self::with_selector)).
    ///
    /// `discovery` is any [`Discovery`]: a discovery by value, an `Arc` of one, or an
    /// `Arc<dyn Discovery>`.
    pub fn new(
        service_path: impl Into<String>,
        fail_mode: FailMode,
        select_mode: SelectMode,
        discovery: impl Discovery,
        options: XClientOptions,
    ) -> Result<XClient, XClientError> {
        let selector = select_mode
            .build(options.position)
            .ok_or(XClientError::NoSelector(select_mode))?;
        Ok(XClient::build(
            service_path.into(),
            fail_mode,
            select_mode,
            selector,
            &discovery,
            options,
        ))
    }

    /// A client that selects servers with `selector` (select mode `SelectByUser`).
    pub fn with_selector(
        service_path: impl Into<String>,
        fail_mode: FailMode,
        selector: Arc<dyn Selector>,
        discovery: impl Discovery,
        options: XClientOptions,
    ) -> XClient {
        XClient::build(
            service_path.into(),
            fail_mode,
            SelectMode::SelectByUser,
            selector,
            &discovery,
            options,
        )
    }

    fn build(
        service_path: String,
        fail_mode: FailMode,
        select_mode: SelectMode,
        selector: Arc<dyn Selector>,
        discovery: &dyn Discovery,
        mut options: XClientOptions,
    ) -> XClient {
        options.client.connect_timeout = options.connect_timeout;
        let plugins = Plugins::new(options.plugins.clone());
        let (push_tx, push_rx) = match options.push_capacity {
            Some(n) => {
                let (tx, rx) = mpsc::channel(n);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let inner = Arc::new(Inner {
            policy: RetryPolicy {
                retries: options.retries,
                retry_interval: options.retry_interval,
                backup_latency: options.backup_latency,
                attempt_timeout: options.attempt_timeout,
            },
            filter: ServerFilter {
                group: options.group.clone(),
                custom: options.filter.clone(),
            },
            router: Router::new(selector, options.breaker, plugins.clone()),
            conns: Connections::new(
                options.client.clone(),
                options.reconnect_backoff,
                plugins.clone(),
                push_tx,
            ),
            plugins,
            auth: ArcSwapOption::new(options.client.auth_token.clone().map(Arc::new)),
            watch_task: Mutex::new(None),
            push_rx: Mutex::new(push_rx),
            closed: AtomicBool::new(false),
            service_path_frame: ByteStr::from(service_path.clone()),
            service_path,
            fail_mode,
            select_mode,
            options,
        });
        let mut rx = discovery.watch();
        let first = rx.borrow_and_update().clone();
        inner.apply(&first);
        let task = tokio::spawn(follow_discovery(Arc::downgrade(&inner), rx));
        *inner.watch_task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        XClient { inner }
    }

    /// The service path.
    pub fn service_path(&self) -> &str {
        &self.inner.service_path
    }

    /// The fail mode.
    pub fn fail_mode(&self) -> FailMode {
        self.inner.fail_mode
    }

    /// The select mode.
    pub fn select_mode(&self) -> SelectMode {
        self.inner.select_mode
    }

    /// The usable servers: the discovery list after filtering (breakers not considered).
    pub fn servers(&self) -> ServerList {
        self.inner.router.servers()
    }

    /// The breaker state of `server`, when breakers are on and the server is listed.
    pub fn breaker_state(&self, server: &str) -> Option<BreakerState> {
        self.inner.router.breaker(server).map(|b| b.state())
    }

    /// Sets the token sent as `__AUTH` on every call (rpcx `Auth`).
    pub fn auth(&self, token: impl Into<String>) {
        self.inner.auth.store(Some(Arc::new(token.into())));
    }

    /// Replaces the selector (rpcx `SetSelector`).
    pub fn set_selector(&self, selector: Arc<dyn Selector>) {
        self.inner.router.set_selector(selector);
    }

    /// Switches to the Closest selector for a client at `latitude`, `longitude` (rpcx
    /// `ConfigGeoSelector`).
    pub fn configure_geo(&self, latitude: f64, longitude: f64) {
        self.set_selector(Arc::new(crate::selector::Closest::new(latitude, longitude)));
    }

    /// The channel of server pushes from every connection, for a client built with
    /// [`XClientOptions::bidirectional`]. Returns `None` otherwise and after the first call.
    pub fn take_push_receiver(&self) -> Option<mpsc::Receiver<ServerPush>> {
        self.inner
            .push_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Stops following discovery and closes every connection. Later calls fail with
    /// [`XClientError::Closed`].
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        if let Some(t) = self
            .inner
            .watch_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
        self.inner.conns.close_all();
    }

    /// Calls `method` with `args` under the fail mode and decodes the reply.
    pub async fn call<A: Payload, R: Payload>(
        &self,
        method: &str,
        args: &A,
    ) -> Result<R, XClientError> {
        self.call_with(method, args, CallOptions::default())
            .await
            .map(|r| r.value)
    }

    /// Calls `method` with per-call options (deadline, metadata, serialize type,
    /// compression) under the fail mode. The deadline bounds the whole call, retries
    /// included; each attempt sends what is left of it as `__ServerTimeout`.
    pub async fn call_with<A: Payload, R: Payload>(
        &self,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> Result<Reply<R>, XClientError> {
        let call = self.prepare(method, args, &opts, false)?;
        let span = self.span("call", method);
        let inner = &self.inner;
        async {
            inner.pre_call(method)?;
            let req = call.select_request(inner, method);
            let result = execute(
                &inner.router,
                inner.fail_mode,
                inner.policy,
                &req,
                call.deadline,
                |key, left| inner.attempt(key, &call.msg, left),
            )
            .await
            .map_err(|f| inner.failure(f))
            .and_then(|(key, res)| decode_reply::<R>(key, res));
            inner.post_call(method, &result);
            result
        }
        .instrument(span)
        .await
    }

    /// Sends a oneway call to one server (rpcx `Oneshot`): it returns once the request is
    /// written, and the server sends nothing back. Connection failures before the write
    /// are retried under the fail mode (Failbackup acts as Failover here).
    pub async fn oneshot<A: Payload>(
        &self,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> Result<(), XClientError> {
        let call = self.prepare(method, args, &opts, true)?;
        let span = self.span("oneshot", method);
        let inner = &self.inner;
        let mode = match inner.fail_mode {
            FailMode::Failbackup => FailMode::Failover,
            m => m,
        };
        async {
            inner.pre_call(method)?;
            let req = call.select_request(inner, method);
            let result = execute(
                &inner.router,
                mode,
                inner.policy,
                &req,
                call.deadline,
                |key, left| inner.attempt(key, &call.msg, left),
            )
            .await
            .map(|(key, _)| Reply {
                value: (),
                metadata: server_metadata(&key),
            })
            .map_err(|f| inner.failure(f));
            inner.post_call(method, &result);
            result.map(|_| ())
        }
        .instrument(span)
        .await
    }

    /// Calls every usable server at once; the first success wins (rpcx `Fork`). Fails only
    /// when every server failed, with the last error.
    pub async fn fork<A: Payload, R: Payload>(
        &self,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> Result<Reply<R>, XClientError> {
        let call = self.prepare(method, args, &opts, false)?;
        let span = self.span("fork", method);
        let inner = &self.inner;
        async {
            inner.pre_call(method)?;
            let result = execute_all(
                &inner.router,
                AllMode::FirstSuccess,
                call.deadline,
                |key, left| inner.attempt(key, &call.msg, left),
            )
            .await
            .map_err(|f| inner.failure(f))
            .and_then(|mut all| match all.pop() {
                Some((key, Ok(res))) => decode_reply::<R>(key, res),
                Some((_, Err(e))) => Err(e),
                None => Err(inner.no_server()),
            });
            inner.post_call(method, &result);
            result
        }
        .instrument(span)
        .await
    }

    /// Calls every usable server at once; succeeds only if all do, and returns at the first
    /// error (rpcx `Broadcast`). Without a deadline, rpcx's one-minute cap applies. The
    /// replies come in completion order, each with `__ServerAddress` in its metadata.
    pub async fn broadcast<A: Payload, R: Payload>(
        &self,
        method: &str,
        args: &A,
        mut opts: CallOptions,
    ) -> Result<Vec<Reply<R>>, XClientError> {
        if opts.timeout.is_none() && self.inner.options.default_timeout.is_none() {
            opts.timeout = Some(BROADCAST_CAP);
        }
        let call = self.prepare(method, args, &opts, false)?;
        let span = self.span("broadcast", method);
        let inner = &self.inner;
        async {
            inner.pre_call(method)?;
            let result = execute_all(
                &inner.router,
                AllMode::AllSucceed,
                call.deadline,
                |key, left| inner.attempt(key, &call.msg, left),
            )
            .await
            .map_err(|f| inner.failure(f))
            .and_then(|all| {
                all.into_iter()
                    .map(|(key, r)| r.and_then(|res| decode_reply::<R>(key, res)))
                    .collect::<Result<Vec<_>, _>>()
            });
            inner.post_call(method, &result);
            result
        }
        .instrument(span)
        .await
    }

    /// Calls every usable server at once and returns every server's outcome (rpcx
    /// `Inform`). Fails as a whole only when there is no server to call.
    pub async fn inform<A: Payload, R: Payload>(
        &self,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> Result<Vec<Receipt<R>>, XClientError> {
        let call = self.prepare(method, args, &opts, false)?;
        let span = self.span("inform", method);
        let inner = &self.inner;
        async {
            inner.pre_call(method)?;
            let result = execute_all(
                &inner.router,
                AllMode::Collect,
                call.deadline,
                |key, left| inner.attempt(key, &call.msg, left),
            )
            .await
            .map_err(|f| inner.failure(f))
            .map(|all| {
                all.into_iter()
                    .map(|(key, r)| Receipt {
                        address: key.to_string(),
                        result: r.and_then(|res| decode_reply::<R>(key, res)),
                    })
                    .collect::<Vec<_>>()
            });
            inner.post_call(method, &result);
            result
        }
        .instrument(span)
        .await
    }

    fn span(&self, style: &'static str, method: &str) -> tracing::Span {
        tracing::debug_span!(
            "xclient",
            style,
            service = %self.inner.service_path,
            method,
            fail_mode = ?self.inner.fail_mode,
        )
    }

    /// Encodes the request once; every attempt reuses the payload.
    fn prepare<A: Payload>(
        &self,
        method: &str,
        args: &A,
        opts: &CallOptions,
        oneway: bool,
    ) -> Result<PreparedCall, XClientError> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(XClientError::Closed);
        }
        let copts = &inner.options.client;
        let st = opts
            .serialize_type
            .or_else(A::preferred_serialize_type)
            .unwrap_or(copts.serialize_type);
        let mut msg = Message::request(inner.service_path_frame.clone(), method.to_owned());
        msg.header.set_serialize_type(st);
        msg.header.set_oneway(oneway);
        msg.payload = args.to_bytes(st).map_err(XClientError::Encode)?;
        let ct = opts.compress_type.unwrap_or(copts.compress_type);
        if ct.applies_to(msg.payload.len()) {
            msg.header.set_compress_type(ct);
        }
        msg.metadata = opts.metadata.clone();
        if let Some(token) = &*inner.auth.load() {
            msg.metadata.insert(keys::AUTH, token.as_str().to_owned());
        }
        let deadline = opts
            .timeout
            .or(inner.options.default_timeout)
            .map(|t| Instant::now() + t);
        Ok(PreparedCall { msg, deadline })
    }
}

struct PreparedCall {
    msg: Message,
    deadline: Option<Instant>,
}

impl PreparedCall {
    fn select_request<'a>(&'a self, inner: &'a Inner, method: &'a str) -> SelectRequest<'a> {
        let args: &[u8] = if inner.router.needs_args() {
            &self.msg.payload
        } else {
            &[]
        };
        SelectRequest {
            service_path: &inner.service_path,
            method,
            args,
        }
    }
}

impl Inner {
    fn apply(&self, list: &ServerList) {
        let started = Instant::now();
        let usable = self.filter.apply_shared(list);
        let slots = self.conns.update(&usable);
        let servers = usable.len();
        self.router.set_servers(usable, slots);
        tracing::debug!(
            service = %self.service_path,
            servers,
            took = ?started.elapsed(),
            "server list updated"
        );
    }

    /// One attempt on one server: connect (cached), send, read the reply.
    async fn attempt(
        &self,
        target: Target,
        template: &Message,
        left: Option<Duration>,
    ) -> Result<Option<Message>, XClientError> {
        let key = target.key();
        let client = self.conns.get(key, target.slot()).await?;
        let mut msg = template.clone();
        if let Some(left) = left {
            msg.metadata
                .insert(keys::SERVER_TIMEOUT, left.as_millis().max(1).to_string());
        }
        for p in self.plugins.iter() {
            p.before_encode(&mut msg);
        }
        match client.send_raw(msg, left).await {
            Ok(Some(res)) => {
                for p in self.plugins.iter() {
                    p.after_decode(&res);
                }
                if res.header.is_error() {
                    let sent_auth = template.metadata.get(keys::AUTH).is_some();
                    let source = client.reply_error(res, sent_auth).await;
                    if source.is_connection_error() {
                        self.conns.discard(target.slot(), &client);
                    }
                    return Err(XClientError::Call {
                        server: key.to_owned(),
                        source,
                    });
                }
                Ok(Some(res))
            }
            Ok(None) => Ok(None),
            Err(source) => {
                if classify_client_error(&source) == ErrorClass::Retryable {
                    self.conns.discard(target.slot(), &client);
                }
                Err(XClientError::Call {
                    server: key.to_owned(),
                    source,
                })
            }
        }
    }

    fn no_server(&self) -> XClientError {
        XClientError::NoServer {
            service_path: self.service_path.clone(),
        }
    }

    fn failure(&self, f: Failure<XClientError>) -> XClientError {
        match f {
            Failure::Call(error) => error,
            Failure::NoServer => self.no_server(),
            Failure::AllBreakersOpen => XClientError::AllBreakersOpen {
                service_path: self.service_path.clone(),
            },
            Failure::DeadlineExceeded => XClientError::DeadlineExceeded,
        }
    }

    fn pre_call(&self, method: &str) -> Result<(), XClientError> {
        let info = CallInfo {
            service_path: &self.service_path,
            method,
        };
        for p in self.plugins.iter() {
            p.pre_call(&info).map_err(XClientError::Plugin)?;
        }
        Ok(())
    }

    fn post_call<T: ServerOf>(&self, method: &str, result: &Result<T, XClientError>) {
        match result {
            Ok(r) => tracing::debug!(server = r.server().unwrap_or(""), "ok"),
            Err(e) => tracing::debug!(server = e.server().unwrap_or(""), error = %e, "failed"),
        }
        if self.plugins.is_empty() {
            return;
        }
        let info = CallInfo {
            service_path: &self.service_path,
            method,
        };
        let server = match result {
            Ok(r) => r.server(),
            Err(e) => e.server(),
        };
        for p in self.plugins.iter() {
            p.post_call(&info, server, result.as_ref().map(|_| ()));
        }
    }
}

/// The server that answered, for hooks and traces.
trait ServerOf {
    fn server(&self) -> Option<&str>;
}

impl<R> ServerOf for Reply<R> {
    fn server(&self) -> Option<&str> {
        self.metadata.get(keys::SERVER_ADDRESS)
    }
}

impl<R> ServerOf for Vec<Reply<R>> {
    fn server(&self) -> Option<&str> {
        None
    }
}

impl<R> ServerOf for Vec<Receipt<R>> {
    fn server(&self) -> Option<&str> {
        None
    }
}

fn server_metadata(key: &str) -> fastrpc_client::Metadata {
    let mut m = fastrpc_client::Metadata::new();
    m.insert(keys::SERVER_ADDRESS, key.to_owned());
    m
}

fn decode_reply<R: Payload>(key: Arc<str>, res: Option<Message>) -> Result<Reply<R>, XClientError> {
    let res = res.unwrap_or_default();
    let value = R::decode(res.header.serialize_type(), res.payload).map_err(|source| {
        XClientError::Decode {
            server: key.to_string(),
            source,
        }
    })?;
    let mut metadata = res.metadata;
    metadata.insert(keys::SERVER_ADDRESS, key.to_string());
    Ok(Reply { value, metadata })
}

async fn follow_discovery(inner: Weak<Inner>, mut rx: watch::Receiver<ServerList>) {
    while rx.changed().await.is_ok() {
        let list = rx.borrow_and_update().clone();
        let Some(inner) = inner.upgrade() else { return };
        inner.apply(&list);
    }
}
