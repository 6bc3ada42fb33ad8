//! rpcx's reserved services for files and streams, wire-compatible with Go rpcx.
//!
//! Go rpcx moves files and raw byte streams beside the RPC connection, not through it:
//!
//! 1. the client calls `_filetransfer.TransferFile(FileTransferArgs{FileName, FileSize, Meta})`,
//!    `_filetransfer.DownloadFile(DownloadFileArgs{FileName, Meta})` or
//!    `_streamservice.Stream(StreamServiceArgs{Meta})` over its ordinary rpcx connection and gets
//!    back `FileTransferReply{Token, Addr}`: 32 random bytes and the `host:port` of a side TCP
//!    listener;
//! 2. it dials `Addr`, writes the 32-byte token, and then the connection carries nothing but
//!    the file's raw bytes (exactly `FileSize` of them up, or everything until the server
//!    closes down) or, for a stream, whatever both ends write.
//!
//! This crate is both ends. The server side is [`FileTransfer`] and [`StreamService`]: started,
//! each is a [`Service`](fastrpc_server::Service) to register with the server and a running side
//! listener. The client side is [`send_file`], [`download_file`] and [`stream`], on anything that
//! implements [`fastrpc_client::Call`] (a `Client`, an `XClient` made for `_filetransfer`, a
//! wrapper of either).
//!
//! Bytes are streamed, never buffered whole: an upload handler reads an [`Upload`] straight from
//! the socket, and a download is copied through one buffer of [`SideLimits::chunk_size`] bytes.
//! [`SideStats::peak_buffered_bytes`] reports the most the side listener held at once.
//!
//! Tokens are single use, live for [`SideLimits::token_lifetime`] (60 s), and at most
//! [`SideLimits::max_tokens`] (1024) are pending; uploads are capped by
//! [`SideLimits::max_upload_bytes`] (1 GiB). A wrong, reused or expired token, or a side
//! connection that sends no token within [`SideLimits::token_timeout`] (10 s), is closed with a
//! debug-level log line. `docs/FILETRANSFER.md` has a runnable example and the differences
//! from Go.
//!
//! Dependencies: `getrandom` gives the token bytes from the operating system (what Go's
//! `crypto/rand` does); `base64` writes `[]byte` tokens the way Go's JSON does.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod args;
mod client;
mod copy;
mod error;
mod file_transfer;
mod handlers;
mod limits;
mod shape;
mod side;
mod stats;
mod stream;
mod token;
mod upload;

pub use args::{
    DownloadFileArgs, FileTransferArgs, FileTransferReply, StreamServiceArgs, StreamServiceReply,
};
pub use client::{
    TransferOptions, Transferred, download_file, download_file_with, send_file, send_file_with,
    send_reader, stream, stream_with,
};
pub use error::{FILE_TOO_LARGE, NOT_ACCEPTED, TOKEN_TABLE_FULL, TransferError};
pub use file_transfer::{FILE_TRANSFER_SERVICE, FileTransfer, FileTransferService};
pub use handlers::{DownloadHandler, DownloadReader, UploadHandler};
pub use limits::SideLimits;
pub use stats::SideStats;
pub use stream::{
    STREAM_SERVICE, StreamAcceptor, StreamHandler, StreamService, StreamServiceHandle,
};
pub use token::TOKEN_LEN;
pub use upload::Upload;
