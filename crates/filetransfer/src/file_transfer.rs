//! The `_filetransfer` service: `TransferFile` and `DownloadFile` hand out tokens; the side
//! listener moves the bytes.

use crate::args::{DownloadFileArgs, FileTransferArgs, FileTransferReply};
use crate::copy::{CopyError, copy_chunks};
use crate::error::FILE_TOO_LARGE;
use crate::handlers::{DownloadHandler, DownloadReader, UploadHandler};
use crate::limits::SideLimits;
use crate::side::{self, AcceptTask, Dispatch, Side};
use crate::stats::{Counters, SideStats};
use crate::upload::Upload;
use fastrpc_server::{Context, Handler, Service, ServiceError, handler_fn};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// rpcx's default name of the file transfer service (Go's `share.SendFileServiceName`).
pub const FILE_TRANSFER_SERVICE: &str = "_filetransfer";

/// What a file transfer token was issued for.
enum Ticket {
    Upload(FileTransferArgs),
    Download(DownloadReader),
}

/// Configures the `_filetransfer` service (Go's `NewFileTransfer`); [`start`](Self::start)
/// binds its side listener.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use fastrpc_filetransfer::{DownloadFileArgs, FileTransfer, FileTransferArgs, Upload};
/// use tokio::io::AsyncReadExt;
///
/// let files = FileTransfer::new(
///     "127.0.0.1:8973",
///     |args: FileTransferArgs, mut body: Upload| async move {
///         let mut out = tokio::fs::File::create(format!("/tmp/{}", args.file_name)).await?;
///         tokio::io::copy(&mut body, &mut out).await?;
///         Ok(())
///     },
///     |args: DownloadFileArgs| async move { tokio::fs::File::open(args.file_name).await },
/// )
/// .start()
/// .await?;
/// let server = fastrpc_server::Server::builder().service(files.clone()).build();
/// # let _ = server; Ok(()) }
/// ```
pub struct FileTransfer {
    addr: String,
    advertise: Option<String>,
    name: String,
    limits: SideLimits,
    upload: Arc<dyn UploadHandler>,
    download: Arc<dyn DownloadHandler>,
}

impl FileTransfer {
    /// A file transfer whose side listener will bind `addr`: `host:port`, or
    /// `:port` for every IPv4 interface as Go writes it.
    pub fn new(
        addr: impl Into<String>,
        upload: impl UploadHandler,
        download: impl DownloadHandler,
    ) -> Self {
        FileTransfer {
            addr: addr.into(),
            advertise: None,
            name: FILE_TRANSFER_SERVICE.to_owned(),
            limits: SideLimits::default(),
            upload: Arc::new(upload),
            download: Arc::new(download),
        }
    }

    /// Registers the service under `name` instead of `_filetransfer`.
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

    /// Sets the limits.
    pub fn limits(mut self, limits: SideLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Binds the side listener and starts accepting; the returned service is registered with
    /// the server ([`ServerBuilder::service`](fastrpc_server::ServerBuilder::service)).
    pub async fn start(self) -> io::Result<FileTransferService> {
        let (listener, side) = side::bind(&self.addr, self.advertise, self.limits).await?;
        let upload = self.upload;
        let dispatch_side = side.clone();
        let dispatch: Dispatch<Ticket> = Arc::new(move |ticket, conn| {
            let side = dispatch_side.clone();
            let upload = upload.clone();
            Box::pin(async move {
                match ticket {
                    Ticket::Upload(args) => run_upload(&side, &*upload, args, conn).await,
                    Ticket::Download(reader) => run_download(&side, reader, conn).await,
                }
            })
        });
        let task = side::spawn_accept_loop(listener, side.clone(), dispatch);
        Ok(FileTransferService {
            inner: Arc::new(Inner {
                name: self.name,
                side,
                download: self.download,
                task: AcceptTask(task),
            }),
        })
    }
}

async fn run_upload(
    side: &Side<Ticket>,
    upload: &dyn UploadHandler,
    args: FileTransferArgs,
    conn: TcpStream,
) {
    let size = u64::try_from(args.file_size).unwrap_or(0);
    let (give_back, conn_back) = oneshot::channel();
    let body = Upload::new(
        conn,
        size,
        side.limits.idle_timeout,
        side.counters.clone(),
        give_back,
    );
    let name = args.file_name.clone();
    match upload.upload(args, body).await {
        Ok(()) => Counters::bump(&side.counters.uploads_completed),
        Err(e) => tracing::debug!(file = %name, error = %e, "upload handler failed"),
    }
    // Close only now that the handler is done (unless it kept the body for later).
    drop(conn_back);
}

async fn run_download(side: &Side<Ticket>, mut reader: DownloadReader, mut conn: TcpStream) {
    let chunk = side.limits.chunk_size;
    let _held = side.counters.hold(chunk);
    let mut buf = vec![0u8; chunk];
    let counters = &side.counters;
    let copied = copy_chunks(
        &mut reader,
        &mut conn,
        &mut buf,
        side.limits.idle_timeout,
        |n| {
            counters.bytes_sent.fetch_add(n as u64, Relaxed);
        },
    )
    .await;
    match copied {
        Ok(_) => {
            let _ = conn.shutdown().await;
            Counters::bump(&side.counters.downloads_completed);
        }
        Err(CopyError::Read(e)) => tracing::debug!(error = %e, "download: reading the file failed"),
        Err(CopyError::Write(e)) => {
            if e.kind() == io::ErrorKind::TimedOut {
                Counters::bump(&side.counters.timed_out);
            }
            tracing::debug!(error = %e, "download: the client went away");
        }
    }
}

struct Inner {
    name: String,
    side: Arc<Side<Ticket>>,
    download: Arc<dyn DownloadHandler>,
    task: AcceptTask,
}

/// A started file transfer: the `_filetransfer` [`Service`] and its running side listener.
/// Clones share both; the side listener stops when the last clone is dropped or on
/// [`shutdown`](Self::shutdown).
#[derive(Clone)]
pub struct FileTransferService {
    inner: Arc<Inner>,
}

impl FileTransferService {
    /// The address the side listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.side.local_addr
    }

    /// The side listener's counters, including the most bytes it buffered at once.
    pub fn stats(&self) -> SideStats {
        self.inner.side.counters.snapshot()
    }

    /// Tokens issued and not yet used or swept.
    pub fn pending_tokens(&self) -> usize {
        self.inner.side.tokens.len()
    }

    /// Stops accepting side connections (transfers under way run to their end).
    pub fn shutdown(&self) {
        self.inner.task.0.abort();
    }
}

impl Service for FileTransferService {
    fn service_name(&self) -> &str {
        &self.inner.name
    }

    fn methods(self: Arc<Self>) -> Vec<(String, Arc<dyn Handler>)> {
        let up = self.inner.clone();
        let down = self.inner.clone();
        vec![
            (
                "TransferFile".to_owned(),
                handler_fn(move |_ctx: Context, args: FileTransferArgs| {
                    let inner = up.clone();
                    async move { transfer_file(&inner, args) }
                }),
            ),
            (
                "DownloadFile".to_owned(),
                handler_fn(move |_ctx: Context, args: DownloadFileArgs| {
                    let inner = down.clone();
                    async move { download_file(&inner, args).await }
                }),
            ),
        ]
    }
}

fn transfer_file(inner: &Inner, args: FileTransferArgs) -> Result<FileTransferReply, ServiceError> {
    let max = inner.side.limits.max_upload_bytes;
    let size = u64::try_from(args.file_size)
        .map_err(|_| ServiceError::new(format!("rpcx: invalid file size {}", args.file_size)))?;
    if size > max {
        return Err(ServiceError::new(format!(
            "{FILE_TOO_LARGE}: {size} bytes, the limit is {max}"
        )));
    }
    let token = inner.side.issue(Ticket::Upload(args))?;
    Ok(reply(&inner.side, token))
}

async fn download_file(
    inner: &Inner,
    args: DownloadFileArgs,
) -> Result<FileTransferReply, ServiceError> {
    let reader = inner.download.open(args).await?;
    let token = inner.side.issue(Ticket::Download(reader))?;
    Ok(reply(&inner.side, token))
}

fn reply<T>(side: &Side<T>, token: crate::token::Token) -> FileTransferReply {
    FileTransferReply {
        token: token.to_vec(),
        addr: side.advertise.clone(),
    }
}
