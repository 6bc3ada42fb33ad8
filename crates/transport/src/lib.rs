//! Byte-stream plumbing shared by the fastrpc server and client.
//!
//! Every rpcx connection, whatever carries it, has the same shape: one task reads frames with a
//! [`FrameReader`], and one task owns the write half and drains a [`WriteQueue`] (server) or an
//! [`Outbox`] (client), gathering every queued frame into one buffer before each write syscall
//! (batching, as gorpc does). Frames are `bytes::Bytes`.
//! Frames can carry a [`Held`]: bytes counted against a [`ByteBudget`] until they are written.
//!
//! TCP is built in ([`tcp`]); every transport is reachable as `network@addr` through the
//! [`network`] registry (`tcp`, `unix`, `memu` built in; `quic`, `kcp`, `ws`, `wss`, `http`, `tls`,
//! `reuseport` with their features; more through [`network::register_network`]).
//!
//! Dependencies beyond tokio and bytes: `socket2`, for the socket options tokio does not expose
//! (keep-alive time, listen backlog), and `libc`, to raise the open-file limit as Go does; both
//! are the crates tokio itself is built on.

mod budget;
mod counted;
#[cfg(feature = "http")]
pub mod http_connect;
pub mod network;
mod outbox;
mod reader;
#[cfg(feature = "http")]
mod rewind;
pub mod tcp;
mod writer;

pub use budget::ByteBudget;
pub use counted::{Counted, IoCounters};
pub use outbox::{Outbox, OutboxClosed, run_outbox_writer};
pub use reader::{FrameReader, MIN_READ, ReadError};
pub use writer::{Held, WriteAccount, WriteQueue, WriterOptions};

/// Something that reads and writes bytes, such as a TCP stream.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}
