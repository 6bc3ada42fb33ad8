//! The argument and reply types of the reserved services, as Go's `share` package declares them.

use std::collections::HashMap;

/// The argument of `_filetransfer.TransferFile` (Go's `share.FileTransferArgs`): what the client
/// is about to upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTransferArgs {
    /// The file's base name (Go's client sends `os.Stat(path).Name()`). JSON `file_name`.
    pub file_name: String,
    /// The exact number of bytes that follow the token on the side connection. JSON `file_size`.
    pub file_size: i64,
    /// Free-form metadata from the caller. JSON `meta`.
    pub meta: HashMap<String, String>,
}

/// The argument of `_filetransfer.DownloadFile` (Go's `share.DownloadFileArgs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadFileArgs {
    /// The name of the file the client asks for. JSON `file_name`.
    pub file_name: String,
    /// Free-form metadata from the caller. JSON `meta`.
    pub meta: HashMap<String, String>,
}

/// The argument of `_streamservice.Stream` (Go's `share.StreamServiceArgs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamServiceArgs {
    /// Free-form metadata from the caller. JSON `meta`.
    pub meta: HashMap<String, String>,
}

/// The reply of `TransferFile`, `DownloadFile` and `Stream` (Go's `share.FileTransferReply` and
/// `share.StreamServiceReply`, which have the same fields): where to connect and what to say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTransferReply {
    /// The single-use token, 32 random bytes, written first on the side connection.
    /// JSON `token` (base64, as Go writes `[]byte`).
    pub token: Vec<u8>,
    /// The `host:port` of the side TCP listener. JSON `addr`.
    pub addr: String,
}

/// Go's `share.StreamServiceReply`: the same shape as [`FileTransferReply`].
pub type StreamServiceReply = FileTransferReply;
