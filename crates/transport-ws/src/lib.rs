//! The rpcx byte stream over WebSocket, as Go rpcx's `ws` and `wss` networks.
//!
//! Address forms: `ws@host:port` and `wss@host:port`; the WebSocket lives at `/_rpcx_`
//! ([`RPCX_PATH`]). This crate is the transport itself; the `network@addr` seam in the
//! transport base crate dispatches `ws@...` / `wss@...` here.
//!
//! - [`WsListener::bind`] (ws) or [`WsListener::bind_tls`] (wss), then [`WsListener::accept`],
//!   gives [`WsStream`]s;
//! - [`WsStream::connect`] and [`WsStream::connect_tls`] dial;
//! - a [`WsStream`] is `AsyncRead + AsyncWrite + Send + Unpin`, ready for
//!   `Server::serve_connection` and `Client::from_io`.
//!
//! # Go interoperability (`rpcx-protocol.md` §2.5)
//!
//! - Go rpcx serves `golang.org/x/net/websocket` at `/_rpcx_` and treats the connection as a
//!   byte stream: **frame boundaries need not match rpcx messages**, and here they do not
//!   (writes are cut at [`WsConfig::max_frame_out`], reads join frames).
//! - The **Go client writes text frames** (x/net/websocket's default) whose payload is binary
//!   rpcx data, not UTF-8; **the Go server answers in binary frames**. This crate reads text,
//!   binary and continuation frames alike as raw bytes, and writes binary frames.
//! - Go's x/net/websocket server **refuses a request without `Origin`** ("null origin"), so the
//!   client sends `Origin: http://host:port` (`https://` for wss), as Go's client does;
//!   [`WsConfig::origin`] overrides it. The server here does not require one.
//! - wss is TLS (rustls with ring) under the same upgrade; the certificates come from the
//!   caller's `rustls` configurations (re-exported as [`rustls`]).
//!
//! **Not tested against a live Go peer**: there is no Go toolchain on the build machines; the
//! text-frame and `Origin` behaviour is tested with hand-made frames and requests.
//!
//! # Budgets
//!
//! [`WsConfig`]: a message (a frame, or the frames of a fragmented message) may be at most
//! [`WsConfig::max_message_size`] (16 MiB by default; Go's x/net/websocket allows 32 MiB), checked on
//! the frame header before its payload is read, so one connection buffers at most that much
//! plus one outgoing frame ([`WsConfig::connection_budget_bytes`]). A listener holds at most
//! [`WsConfig::max_connections`] connections (default 1024); further ones are answered 503 and closed.
//! The upgrade head is at most 8 KiB and must arrive within 10 s. Protocol violations (an
//! unmasked client frame, reserved bits or opcodes, an oversized control frame) end that
//! connection with a typed [`WsError`]; failed upgrades are answered 400/404/431, counted in
//! [`WsStats`] and logged at debug level only.
//!
//! # Dependencies, and why
//!
//! - `tungstenite`: the maintained RFC 6455 implementation; used for frame headers (parse and
//!   format) and the key derivation. Its message layer (and so `tokio-tungstenite`'s stream) is
//!   **not** used: it turns a text frame into a `String` and fails on the non-UTF-8 payloads
//!   Go clients send, and it hides the bytes that follow the upgrade head. The payload
//!   handling (masking, joining frames into a byte stream) is a few lines in `frame.rs`.
//! - `httparse`: parses the upgrade request and response heads (tungstenite uses it too).
//! - `tokio-rustls` with ring: wss, without aws-lc.
//! - `rand`: client masking keys.
//! - `bytes`, `tokio`, `thiserror`, `tracing` as in the rest of the workspace.
//!
//! # Example
//!
//! ```no_run
//! use fastrpc_transport_ws::{WsConfig, WsListener, WsStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut listener = WsListener::bind("127.0.0.1:8972", WsConfig::default()).await?;
//! tokio::spawn(async move {
//!     while let Ok((mut stream, _peer)) = listener.accept().await {
//!         tokio::spawn(async move {
//!             let mut buf = [0u8; 5];
//!             if stream.read_exact(&mut buf).await.is_ok() {
//!                 let _ = stream.write_all(&buf).await;
//!             }
//!         });
//!     }
//! });
//! let mut stream = WsStream::connect("127.0.0.1:8972", &WsConfig::default()).await?;
//! stream.write_all(b"hello").await?;
//! let mut back = [0u8; 5];
//! stream.read_exact(&mut back).await?;
//! # Ok(())
//! # }
//! ```

mod config;
mod error;
mod frame;
mod handshake;
mod io;
mod listener;
mod stats;
mod stream;

pub use config::{RPCX_PATH, WsConfig};
pub use error::WsError;
pub use listener::WsListener;
pub use stats::WsStats;
pub use stream::WsStream;

/// The rustls version wss is built on, for building its configurations.
pub use tokio_rustls::rustls;
