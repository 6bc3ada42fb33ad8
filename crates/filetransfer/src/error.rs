//! The errors of the client functions and the error texts the services answer.

use std::io;

/// The reply text when the token table is full (see [`SideLimits::max_tokens`](crate::SideLimits::max_tokens)).
pub const TOKEN_TABLE_FULL: &str = "rpcx: too many pending transfers, the token table is full";

/// The reply text when a stream acceptor refuses a `Stream` call (Go's `server.ErrNotAccept`).
pub const NOT_ACCEPTED: &str = "server refused the connection";

/// The start of the reply text when an upload announces more than
/// [`SideLimits::max_upload_bytes`](crate::SideLimits::max_upload_bytes).
pub const FILE_TOO_LARGE: &str = "rpcx: file too large";

/// Why a [`send_file`](crate::send_file), [`download_file`](crate::download_file) or
/// [`stream`](crate::stream) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The `TransferFile`, `DownloadFile` or `Stream` call failed: the server refused it (a full
    /// token table, a file too large, a refused stream, the handler's error) or was unreachable.
    #[error("the {method} call failed: {source}")]
    Call {
        /// The rpcx method that was called.
        method: &'static str,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server's reply has no usable token or address.
    #[error("the server's reply is unusable: {0}")]
    BadReply(String),
    /// The side connection could not be opened in time.
    #[error("cannot connect to the side listener at {addr}: {source}")]
    Connect {
        /// The address the server gave.
        addr: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Reading the local file or reader failed.
    #[error("reading the local data failed: {0}")]
    Source(#[source] io::Error),
    /// Writing to the local writer failed.
    #[error("writing the local data failed: {0}")]
    Sink(#[source] io::Error),
    /// The side connection failed mid-transfer (a refused token shows up here, as the server
    /// closes the connection), or made no progress within the idle timeout.
    #[error("the side connection failed: {0}")]
    Side(#[source] io::Error),
    /// A download brought more than
    /// [`TransferOptions::max_download_bytes`](crate::TransferOptions::max_download_bytes).
    #[error("the download is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The local reader ended before the size announced to the server.
    #[error("the local data ended after {sent} of {announced} announced bytes")]
    ShortSource {
        /// Bytes sent.
        sent: u64,
        /// Bytes announced in `FileSize`.
        announced: u64,
    },
}
