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
//! Service discovery, load balancing and retries live a level up, in `fastrpc-xclient`.

mod call;
mod client;
mod conn;
mod error;
mod options;
mod push;

pub use call::Call;
pub use client::{Client, Reply};
#[doc(hidden)]
pub use error::{ClientError, ErrorKind, RemoteError};
pub use options::{CallOptions, ClientOptions, HeartbeatOptions};
pub use push::{Push, PushReceiver};

pub use fastrpc_codec::{Payload, Proto, Raw};
pub use fastrpc_core::{CompressType, Message, Metadata, SerializeType, ServerAddr};
