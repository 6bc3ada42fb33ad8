//! The `network@addr` seam: a [`Listener`] and a [`Dialer`] per network, chosen at run time
//! from a process-wide registry (rpcx's `RegisterMakeListener` and `ConnFactories`).
//!
//! Built in: `tcp`, `tcp4`, `tcp6` (`tcp@host:port`), `unix` (`unix@/path/to.sock`) and `memu`
//! (`memu@name`, in-process pipes). The networks of the optional transport crates (`quic`,
//! `kcp`, `ws`, `wss`, `http`, `tls`) and `reuseport` are in the registry when this crate's feature of the same name
//! is on (the `fastrpc` facade's features turn them on); without it, asking for one gives
//! [`NetworkError::NotCompiled`], which names the feature. Any other name gives
//! [`NetworkError::Unknown`] until someone calls [`register_network`].
//!
//! The registry is built on first use ([`std::sync::OnceLock`]): there is no global
//! constructor, and nothing needs calling before `Server::serve` or `Client::connect`.
//!
//! ```
//! # async fn demo() -> Result<(), fastrpc_transport::network::NetworkError> {
//! use fastrpc_transport::network;
//! use std::time::Duration;
//! let mut listener = network::listen("memu@docs").await?;
//! let dialed = network::dial("memu@docs", Duration::from_secs(5)).await?;
//! let (_server_side, peer) = listener.accept().await.map_err(|e| network::NetworkError::Io {
//!     addr: "memu@docs".into(),
//!     source: e,
//! })?;
//! assert!(peer.starts_with("memu@docs"));
//! # drop(dialed);
//! # Ok(()) }
//! ```

mod error;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "kcp")]
pub mod kcp;
mod memu;
mod optional;
#[cfg(feature = "quic")]
pub mod quic;
mod registry;
#[cfg(all(unix, feature = "reuseport"))]
pub mod reuseport;
#[cfg(any(feature = "quic", feature = "kcp", feature = "ws", feature = "tls"))]
mod settings;
mod socket_listener;
mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(unix)]
mod unix;
#[cfg(feature = "ws")]
pub mod ws;

pub use error::NetworkError;
pub use memu::{MEMU_BACKLOG, MEMU_PIPE_BYTES};
pub use registry::{
    ListenerFactory, dial, listen, lookup, not_compiled_feature, register_network,
    registered_networks,
};

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future, as the object-safe traits here return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A connection of any transport: a byte stream in both directions.
pub type BoxStream = Box<dyn crate::Io>;

/// A listening endpoint of one network.
pub trait Listener: Send + 'static {
    /// Waits for the next connection; returns it with a name for its peer (an `ip:port`, or
    /// a transport-specific name).
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, String)>>;

    /// The bound address within the network (`ip:port`, a path, a name), without `network@`.
    fn local_addr(&self) -> String;

    /// The bound IP socket address, for networks that have one.
    fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        None
    }
}

/// A dialed connection and the name of what it reached.
pub struct Dialed {
    /// The connection.
    pub stream: BoxStream,
    /// The remote address as the connection sees it (`ip:port` for IP transports, the
    /// address dialed otherwise); replies carry it as `__ServerAddress`.
    pub remote: String,
}

impl std::fmt::Debug for Dialed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialed")
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// Connects to addresses of one network.
pub trait Dialer: Send + Sync + 'static {
    /// Connects to `addr` (the part after `network@`) within `timeout`.
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>>;
}

/// Runs `fut` within `timeout`, turning expiry into `TimedOut`.
pub(crate) async fn within<T>(
    timeout: Duration,
    what: &str,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(timeout, fut).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connect to {what} timed out"),
        )
    })?
}
