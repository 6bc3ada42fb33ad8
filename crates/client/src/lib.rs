//! The fastrpc client: one multiplexed rpcx connection.
//!
//! A [`Client`] owns one connection to one server and carries any number of concurrent calls
//! over it, matched to their replies by sequence number (which starts at 0, as in Go). It
//! speaks rpcx exactly as the Go client does: per-call serialize type, gzip above 1024 bytes,
//! metadata both ways, `__AUTH` tokens, deadlines sent as `__ServerTimeout`, oneway calls,
//! heartbeats, and server push. When the connection dies, every pending call fails at once
//! with [`ClientError::ConnectionClosed`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), fastrpc_client::ClientError> {
//! use fastrpc_client::Client;
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Args { #[serde(rename = "A")] a: i64, #[serde(rename = "B")] b: i64 }
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Reply { #[serde(rename = "C")] c: i64 }
//!
//! let client = Client::connect("tcp@127.0.0.1:8972").await?;
//! let reply: Reply = client.call("Arith", "Mul", &Args { a: 7, b: 8 }).await?;
//! assert_eq!(reply.c, 56);
//! # Ok(()) }
//! ```
//!
//! # Bounded in bytes
//!
//! Everything a server can make a client hold has a byte budget ([`ClientOptions`]), and a
//! budget that is reached slows the caller or the server down; it never fails a call:
//!
//! | budget | default | held | when reached |
//! |---|---|---|---|
//! | `max_pending_bytes` | 32 MiB | request frames (+256 bytes each) from a call's start until it returns | new calls wait for room (their timeout still runs) |
//! | `max_pending_bytes` | 32 MiB | replies read but not yet taken by their callers | the client stops reading the connection |
//! | `max_queued_bytes` | 4 MiB | requests not yet written to the socket | new calls wait for the writer |
//! | `max_push_bytes`, `push_capacity` | 4 MiB, 1024 | server pushes not yet received | the push is dropped (counted), or with `push_blocking` the client stops reading |
//!
//! Each bound is its budget plus one frame: an item alone always fits, so a call larger than
//! the budget still goes through, by itself. Frames larger than
//! [`Limits::max_frame_len`](fastrpc_core::Limits::max_frame_len) (16 MiB) are refused
//! outright. Waiting rather than failing is deliberate: the budget is reached because the
//! server is slower than the callers, and a typed "over budget" error would only turn that
//! into retries against the same server; a caller that cannot wait sets a timeout.
//! [`Client::stats`] reports what a connection holds.
//!
//! Service discovery, load balancing and retries live a level up, in `fastrpc-xclient`.

mod budget;
mod call;
mod client;
mod conn;
mod error;
mod heartbeat;
mod options;
mod push;
mod push_queue;
mod read_loop;
mod stats;

pub use call::Call;
pub use client::{Client, Reply};
pub use error::{ClientError, ErrorKind, RemoteError};
pub use options::{CallOptions, ClientOptions, HeartbeatOptions};
pub use push::{Push, PushReceiver};
pub use push_queue::RawPushReceiver;
pub use stats::ClientStats;

pub use fastrpc_codec::{Payload, Proto, Raw};
pub use fastrpc_core::{CompressType, Message, Metadata, SerializeType, ServerAddr};
