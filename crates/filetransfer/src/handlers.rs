//! The user's upload and download handlers, as traits every fitting async closure implements.

use crate::args::{DownloadFileArgs, FileTransferArgs};
use crate::upload::Upload;
use fastrpc_server::BoxFuture;
use std::future::Future;
use std::io;
use std::pin::Pin;
use tokio::io::AsyncRead;

/// What a download handler returns: the bytes to send, read to their end.
pub type DownloadReader = Pin<Box<dyn AsyncRead + Send>>;

/// Receives uploads: called with the announced arguments and the [`Upload`] body once the
/// client's side connection presents its token. The connection closes when it returns.
pub trait UploadHandler: Send + Sync + 'static {
    /// Consumes one upload.
    fn upload(&self, args: FileTransferArgs, body: Upload) -> BoxFuture<io::Result<()>>;
}

impl<F, Fut> UploadHandler for F
where
    F: Fn(FileTransferArgs, Upload) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    fn upload(&self, args: FileTransferArgs, body: Upload) -> BoxFuture<io::Result<()>> {
        Box::pin(self(args, body))
    }
}

/// Serves downloads: called during the `DownloadFile` call, so that an error (no such file)
/// reaches the caller as the call's error; the reader it returns is copied to the side
/// connection when the client presents its token, then the connection closes.
pub trait DownloadHandler: Send + Sync + 'static {
    /// Opens the file `args` names.
    fn open(&self, args: DownloadFileArgs) -> BoxFuture<io::Result<DownloadReader>>;
}

impl<F, Fut, R> DownloadHandler for F
where
    F: Fn(DownloadFileArgs) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<R>> + Send + 'static,
    R: AsyncRead + Send + 'static,
{
    fn open(&self, args: DownloadFileArgs) -> BoxFuture<io::Result<DownloadReader>> {
        let fut = self(args);
        Box::pin(async move { Ok(Box::pin(fut.await?) as DownloadReader) })
    }
}
