//! TLS for fastrpc: certificates from configuration, a development mode, and the rpcx byte
//! stream over TLS on TCP.
//!
//! As in Go rpcx, TLS is not a network of its own: it is TCP with a TLS configuration
//! (`Server.tlsConfig`, the client's `Option.TLSConfig`). The server side is a
//! [`TlsListener`]; the client side a [`TlsConnector`] run over a connected TCP stream. The
//! transport base crate (`fastrpc-transport`, feature `tls`) plugs both into `tcp@` when a
//! server or client is given a TLS configuration, and registers the name `tls@host:port` for
//! the `network@addr` form.
//!
//! This crate also holds the certificate types every TLS-based fastrpc transport shares
//! (`fastrpc-transport-quic` re-exports them): [`Identity`] (a chain and key from PEM files,
//! PEM bytes or DER), [`ServerTls`] (an identity, optionally client-certificate
//! verification), [`ClientTls`] (trust roots, optionally an identity) and [`DevCert`].
//!
//! # The development mode
//!
//! For tests and examples only: [`ServerTls::development`] makes a fresh self-signed
//! certificate for localhost with rcgen ([`DevCert`]), and [`ClientTls::development`] accepts
//! any server certificate, as Go rpcx's examples do with `InsecureSkipVerify: true`. Only that
//! constructor skips verification; every other client checks the server against its roots.
//!
//! # Errors and bounds
//!
//! A failed handshake is a [`TlsError`]: [`TlsError::Handshake`] with rustls's reason (an
//! unknown issuer, a bad name, an alert from the peer), or
//! [`TlsError::ClientCertificateRequired`] when the server wants a certificate the client does
//! not have. On the server a failed handshake is counted ([`TlsStats`]) and logged at debug
//! level; [`TlsLimits`] bounds the handshakes in progress and their time.
//!
//! # Dependencies, and why
//!
//! - `rustls` 0.23 with `ring` (TLS 1.2 and 1.3): the maintained pure-Rust TLS; ring builds
//!   without the C++/cmake toolchain aws-lc needs. The same versions the QUIC and WebSocket
//!   transports already use.
//! - `tokio-rustls`: rustls over tokio streams, from the rustls project.
//! - `rustls-pki-types`: certificate and key types, and the PEM reader.
//! - `rcgen`: the development mode's self-signed certificate, made at run time.
//! - `tokio`, `thiserror`, `tracing` as in the rest of the workspace.
//!
//! # Example
//!
//! ```no_run
//! use fastrpc_transport_tls::{ClientTls, DevCert, ServerTls, TlsConnector, TlsLimits, TlsListener};
//! use std::time::Duration;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let dev = DevCert::localhost()?;
//! let mut listener = TlsListener::bind(
//!     "127.0.0.1:0",
//!     &ServerTls::new(dev.identity.clone()),
//!     TlsLimits::default(),
//! )
//! .await?;
//! let addr = listener.local_addr();
//! tokio::spawn(async move {
//!     while let Ok((mut stream, _peer)) = listener.accept().await {
//!         let mut buf = [0u8; 5];
//!         if stream.read_exact(&mut buf).await.is_ok() {
//!             let _ = stream.write_all(&buf).await;
//!         }
//!     }
//! });
//! let connector = TlsConnector::new(&ClientTls::with_roots(vec![dev.cert()]))?;
//! let tcp = tokio::net::TcpStream::connect(addr).await?;
//! let mut stream = connector.connect("localhost", tcp, Duration::from_secs(5)).await?;
//! stream.write_all(b"hello").await?;
//! # Ok(()) }
//! ```

mod config;
mod connect;
mod error;
mod identity;
mod listener;
mod skip_verify;
mod stats;

pub use config::{ClientTls, DEFAULT_VERSIONS, ServerTls};
pub use connect::{TlsConnector, host_of};
pub use error::TlsError;
pub use identity::{DevCert, Identity, read_cert_file, read_certs};
pub use listener::{Prepare, TlsLimits, TlsListener};
pub use stats::TlsStats;
pub use {rustls, tokio_rustls};
