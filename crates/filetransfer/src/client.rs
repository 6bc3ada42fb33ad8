//! The client side, on anything that implements [`Call`] (a `Client`, an `XClient`, a wrapper):
//! call the reserved service for a token, dial the side listener, write the token, move bytes.

use crate::args::{DownloadFileArgs, FileTransferArgs, FileTransferReply, StreamServiceArgs};
use crate::copy::{CopyError, copy_chunks, idle};
use crate::error::TransferError;
use crate::file_transfer::FILE_TRANSFER_SERVICE;
use crate::stream::STREAM_SERVICE;
use crate::token::TOKEN_LEN;
use fastrpc_client::{Call, CallOptions};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Settings of the client functions; [`TransferOptions::default`] suits most uses.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransferOptions {
    /// The service to call; `None`: `_filetransfer` for files, `_streamservice` for streams.
    pub service: Option<String>,
    /// Options of the token call (deadline, metadata, serialize type).
    pub call: CallOptions,
    /// How long dialing the side listener may take. Default 10 s.
    pub connect_timeout: Duration,
    /// How long a transfer may make no progress. Default 60 s.
    pub idle_timeout: Duration,
    /// Size of the one buffer a transfer copies through. Default 32 KiB.
    pub chunk_size: usize,
    /// Most bytes a download may bring: past it the download stops with
    /// [`TransferError::TooLarge`] (what was written by then, at most one byte past the limit,
    /// stays written). Default 1 GiB,
    /// as the server's default upload limit.
    pub max_download_bytes: u64,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            service: None,
            call: CallOptions::default(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            chunk_size: 32 * 1024,
            max_download_bytes: 1 << 30,
        }
    }
}

impl TransferOptions {
    /// Sets [`service`](Self::service).
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// Sets [`call`](Self::call).
    pub fn call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// Sets [`max_download_bytes`](Self::max_download_bytes).
    pub fn max_download_bytes(mut self, n: u64) -> Self {
        self.max_download_bytes = n;
        self
    }

    /// Sets [`chunk_size`](Self::chunk_size) (at least 1).
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk_size = n.max(1);
        self
    }
}

/// What a transfer moved, and the largest buffer it held to do so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transferred {
    /// File bytes moved.
    pub bytes: u64,
    /// The largest buffer the transfer held (its one copy buffer), in bytes.
    pub largest_buffer: usize,
}

/// Uploads the file at `path` (Go's `XClient.SendFile`), announcing its base name and size.
/// Returns once the server has read the bytes and closed the side connection.
pub async fn send_file<C: Call>(
    call: &C,
    path: impl AsRef<Path>,
    meta: HashMap<String, String>,
) -> Result<Transferred, TransferError> {
    send_file_with(call, path, meta, &TransferOptions::default()).await
}

/// [`send_file`] with options.
pub async fn send_file_with<C: Call>(
    call: &C,
    path: impl AsRef<Path>,
    meta: HashMap<String, String>,
    opts: &TransferOptions,
) -> Result<Transferred, TransferError> {
    let path = path.as_ref();
    let file = tokio::fs::File::open(path)
        .await
        .map_err(TransferError::Source)?;
    let size = file.metadata().await.map_err(TransferError::Source)?.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    send_reader(call, name, size, file, meta, opts).await
}

/// Uploads `size` bytes read from `reader` under `file_name`.
pub async fn send_reader<C, R>(
    call: &C,
    file_name: impl Into<String>,
    size: u64,
    reader: R,
    meta: HashMap<String, String>,
    opts: &TransferOptions,
) -> Result<Transferred, TransferError>
where
    C: Call,
    R: AsyncRead + Unpin,
{
    let args = FileTransferArgs {
        file_name: file_name.into(),
        file_size: i64::try_from(size).map_err(|_| {
            TransferError::Source(std::io::Error::other(
                "the file is larger than i64::MAX bytes",
            ))
        })?,
        meta,
    };
    let service = opts.service.as_deref().unwrap_or(FILE_TRANSFER_SERVICE);
    let reply = token_call(call, service, "TransferFile", &args, opts).await?;
    let mut conn = open_side(&reply, opts).await?;
    let mut source = reader.take(size);
    let mut buf = vec![0u8; opts.chunk_size];
    let sent = copy_chunks(&mut source, &mut conn, &mut buf, opts.idle_timeout, |_| {})
        .await
        .map_err(|e| match e {
            CopyError::Read(e) => TransferError::Source(e),
            CopyError::Write(e) => TransferError::Side(e),
        })?;
    if sent < size {
        return Err(TransferError::ShortSource {
            sent,
            announced: size,
        });
    }
    conn.shutdown().await.map_err(TransferError::Side)?;
    wait_for_close(&mut conn, opts.idle_timeout).await?;
    Ok(Transferred {
        bytes: sent,
        largest_buffer: buf.len(),
    })
}

/// Waits until the server closes the side connection: it does once its handler is done. A reset
/// means it closed without reading everything (a refused token, a failed handler).
async fn wait_for_close(conn: &mut TcpStream, idle_timeout: Duration) -> Result<(), TransferError> {
    let mut scratch = [0u8; 64];
    loop {
        match idle(idle_timeout, conn.read(&mut scratch)).await {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(e) => return Err(TransferError::Side(e)),
        }
    }
}

/// Downloads the file the server knows as `file_name` into `writer` (Go's
/// `XClient.DownloadFile`), reading until the server closes the side connection.
///
/// As in Go, the side connection carries no length: a server that refuses the token closes
/// the connection at once, which reads as an empty file.
pub async fn download_file<C, W>(
    call: &C,
    file_name: impl Into<String>,
    meta: HashMap<String, String>,
    writer: &mut W,
) -> Result<Transferred, TransferError>
where
    C: Call,
    W: AsyncWrite + Unpin + ?Sized,
{
    download_file_with(call, file_name, meta, writer, &TransferOptions::default()).await
}

/// [`download_file`] with options.
pub async fn download_file_with<C, W>(
    call: &C,
    file_name: impl Into<String>,
    meta: HashMap<String, String>,
    writer: &mut W,
    opts: &TransferOptions,
) -> Result<Transferred, TransferError>
where
    C: Call,
    W: AsyncWrite + Unpin + ?Sized,
{
    let args = DownloadFileArgs {
        file_name: file_name.into(),
        meta,
    };
    let service = opts.service.as_deref().unwrap_or(FILE_TRANSFER_SERVICE);
    let reply = token_call(call, service, "DownloadFile", &args, opts).await?;
    let conn = open_side(&reply, opts).await?;
    // One byte past the limit tells a file at the limit from a larger one.
    let limit = opts.max_download_bytes;
    let mut conn = conn.take(limit.saturating_add(1));
    let mut buf = vec![0u8; opts.chunk_size];
    let bytes = copy_chunks(&mut conn, writer, &mut buf, opts.idle_timeout, |_| {})
        .await
        .map_err(|e| match e {
            CopyError::Read(e) => TransferError::Side(e),
            CopyError::Write(e) => TransferError::Sink(e),
        })?;
    if bytes > limit {
        return Err(TransferError::TooLarge { limit });
    }
    Ok(Transferred {
        bytes,
        largest_buffer: buf.len(),
    })
}

/// Opens a raw bidirectional stream (Go's `XClient.Stream`): the returned connection has had
/// its token written and is the server's stream handler's from then on.
pub async fn stream<C: Call>(
    call: &C,
    meta: HashMap<String, String>,
) -> Result<TcpStream, TransferError> {
    stream_with(call, meta, &TransferOptions::default()).await
}

/// [`stream`] with options.
pub async fn stream_with<C: Call>(
    call: &C,
    meta: HashMap<String, String>,
    opts: &TransferOptions,
) -> Result<TcpStream, TransferError> {
    let service = opts.service.as_deref().unwrap_or(STREAM_SERVICE);
    let reply = token_call(call, service, "Stream", &StreamServiceArgs { meta }, opts).await?;
    open_side(&reply, opts).await
}

async fn token_call<C, A>(
    call: &C,
    service: &str,
    method: &'static str,
    args: &A,
    opts: &TransferOptions,
) -> Result<FileTransferReply, TransferError>
where
    C: Call,
    A: fastrpc_client::Payload + Sync,
{
    let reply = call
        .invoke::<A, FileTransferReply>(service, method, args, opts.call.clone())
        .await
        .map_err(|e| TransferError::Call {
            method,
            source: Box::new(e),
        })?
        .value;
    if reply.token.len() != TOKEN_LEN {
        return Err(TransferError::BadReply(format!(
            "a token of {} bytes, not {TOKEN_LEN}",
            reply.token.len()
        )));
    }
    if reply.addr.is_empty() {
        return Err(TransferError::BadReply("no address".to_owned()));
    }
    Ok(reply)
}

/// Dials the side listener and writes the token.
async fn open_side(
    reply: &FileTransferReply,
    opts: &TransferOptions,
) -> Result<TcpStream, TransferError> {
    let connect_err = |source| TransferError::Connect {
        addr: reply.addr.clone(),
        source,
    };
    let mut conn = idle(
        opts.connect_timeout,
        TcpStream::connect(reply.addr.as_str()),
    )
    .await
    .map_err(connect_err)?;
    idle(opts.idle_timeout, conn.write_all(&reply.token))
        .await
        .map_err(TransferError::Side)?;
    Ok(conn)
}
