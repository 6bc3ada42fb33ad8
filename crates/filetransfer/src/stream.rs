//! The `_streamservice` service: `Stream` hands out a token; after it, the side connection is a
//! raw bidirectional byte stream owned by the user's handler.

use crate::args::{FileTransferReply, StreamServiceArgs};
use crate::error::NOT_ACCEPTED;
use crate::limits::SideLimits;
use crate::side::{self, AcceptTask, Dispatch, Side};
use crate::stats::{Counters, SideStats};
use fastrpc_server::{BoxFuture, Context, Handler, Service, ServiceError, handler_fn};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

/// rpcx's default name of the stream service (Go's `share.StreamServiceName`).
pub const STREAM_SERVICE: &str = "_streamservice";

/// Owns one stream: called with the `Stream` call's arguments and the side connection after its
/// token; the connection closes when the handler drops it.
pub trait StreamHandler: Send + Sync + 'static {
    /// Serves one stream.
    fn serve(&self, args: StreamServiceArgs, conn: TcpStream) -> BoxFuture<()>;
}

impl<F, Fut> StreamHandler for F
where
    F: Fn(StreamServiceArgs, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn serve(&self, args: StreamServiceArgs, conn: TcpStream) -> BoxFuture<()> {
        Box::pin(self(args, conn))
    }
}

/// Decides during the `Stream` call whether to accept a stream (Go's `StreamAcceptor`); a
/// refusal answers the call with [`NOT_ACCEPTED`] and issues no token.
pub type StreamAcceptor = dyn Fn(&Context, &StreamServiceArgs) -> bool + Send + Sync;

/// Configures the `_streamservice` service (Go's `NewStreamService`); [`start`](Self::start)
/// binds its side listener.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use fastrpc_filetransfer::{StreamService, StreamServiceArgs};
///
/// let echo = StreamService::new("127.0.0.1:8974", |_args: StreamServiceArgs, conn: tokio::net::TcpStream| async move {
///     let (mut r, mut w) = conn.into_split();
///     let _ = tokio::io::copy(&mut r, &mut w).await;
/// })
/// .acceptor(|_ctx, args| args.meta.contains_key("user"))
/// .start()
/// .await?;
/// let server = fastrpc_server::Server::builder().service(echo.clone()).build();
/// # let _ = server; Ok(()) }
/// ```
pub struct StreamService {
    addr: String,
    advertise: Option<String>,
    name: String,
    limits: SideLimits,
    handler: Arc<dyn StreamHandler>,
    acceptor: Option<Arc<StreamAcceptor>>,
}

impl StreamService {
    /// A stream service whose side listener will bind `addr`: `host:port`, or
    /// `:port` for every IPv4 interface as Go writes it.
    pub fn new(addr: impl Into<String>, handler: impl StreamHandler) -> Self {
        StreamService {
            addr: addr.into(),
            advertise: None,
            name: STREAM_SERVICE.to_owned(),
            limits: SideLimits::default(),
            handler: Arc::new(handler),
            acceptor: None,
        }
    }

    /// Sets the acceptor, which may refuse a stream during the `Stream` call.
    pub fn acceptor(
        mut self,
        f: impl Fn(&Context, &StreamServiceArgs) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.acceptor = Some(Arc::new(f));
        self
    }

    /// Registers the service under `name` instead of `_streamservice`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The `host:port` clients are told to connect to (Go's `AdvertiseAddr`); by default the
    /// address the side listener is bound to.
    pub fn advertise_addr(mut self, addr: impl Into<String>) -> Self {
        self.advertise = Some(addr.into());
        self
    }

    /// Sets the limits (`max_upload_bytes`, `idle_timeout` and `chunk_size` do not apply).
    pub fn limits(mut self, limits: SideLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Binds the side listener and starts accepting.
    pub async fn start(self) -> io::Result<StreamServiceHandle> {
        let (listener, side) = side::bind(&self.addr, self.advertise, self.limits).await?;
        let handler = self.handler;
        let counters = side.counters.clone();
        let dispatch: Dispatch<StreamServiceArgs> = Arc::new(move |args, conn| {
            Counters::bump(&counters.streams_opened);
            handler.serve(args, conn)
        });
        let task = side::spawn_accept_loop(listener, side.clone(), dispatch);
        Ok(StreamServiceHandle {
            inner: Arc::new(Inner {
                name: self.name,
                side,
                acceptor: self.acceptor,
                task: AcceptTask(task),
            }),
        })
    }
}

struct Inner {
    name: String,
    side: Arc<Side<StreamServiceArgs>>,
    acceptor: Option<Arc<StreamAcceptor>>,
    task: AcceptTask,
}

/// A started stream service: the `_streamservice` [`Service`] and its running side listener.
/// Clones share both; the side listener stops when the last clone is dropped or on
/// [`shutdown`](Self::shutdown).
#[derive(Clone)]
pub struct StreamServiceHandle {
    inner: Arc<Inner>,
}

impl StreamServiceHandle {
    /// The address the side listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.side.local_addr
    }

    /// The side listener's counters.
    pub fn stats(&self) -> SideStats {
        self.inner.side.counters.snapshot()
    }

    /// Stops accepting side connections (streams under way are left to their handlers).
    pub fn shutdown(&self) {
        self.inner.task.0.abort();
    }
}

impl Service for StreamServiceHandle {
    fn service_name(&self) -> &str {
        &self.inner.name
    }

    fn methods(self: Arc<Self>) -> Vec<(String, Arc<dyn Handler>)> {
        let inner = self.inner.clone();
        vec![(
            "Stream".to_owned(),
            handler_fn(move |ctx: Context, args: StreamServiceArgs| {
                let inner = inner.clone();
                async move { open_stream(&inner, &ctx, args) }
            }),
        )]
    }
}

fn open_stream(
    inner: &Inner,
    ctx: &Context,
    args: StreamServiceArgs,
) -> Result<FileTransferReply, ServiceError> {
    if let Some(accept) = &inner.acceptor {
        if !accept(ctx, &args) {
            return Err(ServiceError::new(NOT_ACCEPTED));
        }
    }
    let token = inner.side.issue(args)?;
    Ok(FileTransferReply {
        token: token.to_vec(),
        addr: inner.side.advertise.clone(),
    })
}
