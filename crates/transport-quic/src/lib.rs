//! The rpcx byte stream over QUIC, as Go rpcx's `quic` network.
//!
//! Address form: `quic@host:port` (for example `quic@0.0.0.0:8972`). This crate is the
//! transport itself; the `network@addr` seam in the transport base crate dispatches `quic@...`
//! here.
//!
//! - [`QuicListener::bind`] then [`QuicListener::accept`] gives [`QuicStream`]s;
//! - [`QuicStream::connect`] dials;
//! - a [`QuicStream`] is `AsyncRead + AsyncWrite + Send + Unpin`, ready for
//!   `Server::serve_connection` and `Client::from_io`.
//!
//! # As Go rpcx does it
//!
//! Go rpcx (quic-go) makes **one QUIC connection per rpcx connection**; the client opens
//! **one bidirectional stream** that carries the rpcx byte stream, exactly as a TCP connection
//! would. QUIC requires TLS (1.3); both sides offer **ALPN `rpcx`**. A QUIC stream is opened
//! lazily: the server learns of it only when the client's first bytes arrive, so
//! [`QuicListener::accept`] returns a connection at the client's first request, not at the
//! handshake.
//!
//! Interoperates with Go rpcx's `quic` network (server `s.Serve("quic", addr)` with a
//! `TLSConfig`, client `Option.TLSConfig` with `NextProtos` containing `rpcx`). **Not tested
//! against a live Go peer**: there is no Go toolchain on the build machines.
//!
//! # TLS and the development mode
//!
//! Certificates come from configuration: [`ServerTls`] (an [`Identity`], optionally client
//! auth roots) and [`ClientTls`] (roots, optionally an [`Identity`]); [`Identity::from_pem`]
//! reads PEM files. The **development mode** is for tests and examples only:
//! [`ServerTls::development`] makes a fresh self-signed certificate for localhost with rcgen
//! ([`DevCert`]), and [`ClientTls::development`] accepts any server certificate, as Go rpcx's
//! examples do with `InsecureSkipVerify: true`. Only that constructor skips verification.
//!
//! # Budgets
//!
//! [`QuicLimits`]: at most `max_connections` connections per listener (default 256; beyond it
//! peers are refused at their first packet), one stream per connection (a client cannot open a
//! second one while the first is open, and a client accepts no stream from the server), and flow-control windows that are byte
//! budgets: a peer cannot have more than `receive_window` (default 1 MiB) unread bytes in
//! flight per connection, and each side keeps at most `send_window` (1 MiB) unacknowledged.
//! [`QuicLimits::listener_budget_bytes`] gives the listener's ceiling (512 MiB with the
//! defaults). Failed handshakes and refused peers are counted in [`QuicStats`] and logged at
//! debug level only.
//!
//! # Dependencies, and why
//!
//! - `quinn` 0.11: the maintained, pure-Rust QUIC implementation on tokio, used here without
//!   default features: tokio runtime and rustls with ring only (no aws-lc, no platform
//!   verifier: the roots come from configuration).
//! - `rustls` 0.23 with `ring`: the TLS 1.3 that quinn runs; ring builds without a C++ or
//!   cmake toolchain, unlike aws-lc.
//! - `fastrpc-transport-tls`: the certificate types ([`ServerTls`], [`ClientTls`],
//!   [`Identity`]) and the development mode's certificate maker ([`DevCert`], rcgen), shared
//!   with TLS on TCP so there is one of each.
//! - `tokio`, `thiserror`, `tracing` as in the rest of the workspace.
//!
//! # Example
//!
//! ```no_run
//! use fastrpc_transport_quic::{ClientTls, QuicLimits, QuicListener, QuicStream, ServerTls};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut listener = QuicListener::bind(
//!     "127.0.0.1:8972".parse()?,
//!     &ServerTls::development()?,
//!     QuicLimits::default(),
//! )?;
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
//! let mut stream = QuicStream::connect(
//!     "127.0.0.1:8972".parse()?,
//!     "localhost",
//!     &ClientTls::development(),
//!     &QuicLimits::default(),
//! )
//! .await?;
//! stream.write_all(b"hello").await?;
//! let mut back = [0u8; 5];
//! stream.read_exact(&mut back).await?;
//! # Ok(())
//! # }
//! ```

mod error;
mod limits;
mod listener;
mod stats;
mod stream;
mod tls;

pub use error::QuicError;
pub use limits::QuicLimits;
pub use listener::QuicListener;
pub use stats::QuicStats;
pub use stream::QuicStream;
pub use tls::{ALPN, ClientTls, DevCert, Identity, ServerTls, read_certs};
