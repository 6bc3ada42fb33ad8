//! The process-wide table of networks: built on first use with the built-in networks (and the
//! optional transports compiled in), extended by [`register_network`].

use super::{BoxFuture, Dialed, Dialer, Listener, NetworkError};
use fastrpc_core::ServerAddr;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// Makes listeners of one network from addresses (the part after `network@`).
pub trait ListenerFactory: Send + Sync + 'static {
    /// Binds `addr`.
    fn listen<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<Box<dyn Listener>>>;
}

impl<F> ListenerFactory for F
where
    F: Fn(String) -> BoxFuture<'static, io::Result<Box<dyn Listener>>> + Send + Sync + 'static,
{
    fn listen<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<Box<dyn Listener>>> {
        self(addr.to_owned())
    }
}

/// One registered network.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) listen: Arc<dyn ListenerFactory>,
    pub(crate) dialer: Arc<dyn Dialer>,
}

/// rpcx's networks that come from optional transport crates, with the `fastrpc` feature that
/// compiles each in.
const OPTIONAL: &[(&str, &str)] = &[
    ("quic", "quic"),
    ("kcp", "kcp"),
    ("ws", "ws"),
    ("wss", "ws"),
    ("http", "http"),
    ("tls", "tls"),
    ("reuseport", "reuseport"),
];

/// Names the server and client handle on their own TCP fast path.
const RESERVED: &[&str] = &["tcp", "tcp4", "tcp6"];

fn table() -> &'static RwLock<BTreeMap<String, Entry>> {
    static TABLE: OnceLock<RwLock<BTreeMap<String, Entry>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = BTreeMap::new();
        for name in RESERVED {
            t.insert((*name).to_owned(), super::tcp::entry(name));
        }
        #[cfg(unix)]
        t.insert("unix".to_owned(), super::unix::entry());
        t.insert("memu".to_owned(), super::memu::entry());
        super::optional::register_compiled(&mut t);
        RwLock::new(t)
    })
}

/// Registers (or replaces) the transport of `network`: `listen` makes its listeners (for
/// `Server::serve("network@addr")`), `dialer` its connections (for
/// `Client::connect("network@addr")`). Fails only for the built-in `tcp`, `tcp4` and `tcp6`.
///
/// ```
/// use fastrpc_transport::network::{self, BoxFuture, Dialed, Dialer, Listener};
/// use std::{io, time::Duration};
///
/// struct Refuse;
/// impl Dialer for Refuse {
///     fn dial<'a>(&'a self, addr: &'a str, _: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
///         Box::pin(async move { Err(io::Error::other(format!("no route to {addr}"))) })
///     }
/// }
/// network::register_network(
///     "nowhere",
///     |_addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
///         Box::pin(async { Err(io::Error::other("cannot listen")) })
///     },
///     Refuse,
/// )
/// .unwrap();
/// assert!(network::registered_networks().contains(&"nowhere".to_owned()));
/// ```
pub fn register_network(
    network: &str,
    listen: impl ListenerFactory,
    dialer: impl Dialer,
) -> Result<(), NetworkError> {
    if RESERVED.contains(&network) {
        return Err(NetworkError::Reserved(network.to_owned()));
    }
    if network.is_empty() || network.contains('@') {
        return Err(NetworkError::InvalidAddress(network.to_owned()));
    }
    let entry = Entry {
        listen: Arc::new(listen),
        dialer: Arc::new(dialer),
    };
    write_table().insert(network.to_owned(), entry);
    Ok(())
}

/// The registered network names, sorted.
pub fn registered_networks() -> Vec<String> {
    read_table().keys().cloned().collect()
}

/// The `fastrpc` feature that compiles in `network`, when it is one of rpcx's networks from
/// an optional transport crate.
pub fn not_compiled_feature(network: &str) -> Option<&'static str> {
    OPTIONAL
        .iter()
        .find(|(n, _)| *n == network)
        .map(|(_, feature)| *feature)
}

/// Checks that `network` is registered: `Ok` when it is, else the error a server or client
/// reports ([`NetworkError::NotCompiled`] or [`NetworkError::Unknown`]).
pub fn lookup(network: &str) -> Result<(), NetworkError> {
    entry(network).map(|_| ())
}

pub(crate) fn entry(network: &str) -> Result<Entry, NetworkError> {
    if let Some(e) = read_table().get(network) {
        return Ok(e.clone());
    }
    if let Some(feature) = not_compiled_feature(network) {
        return Err(NetworkError::NotCompiled {
            network: network.to_owned(),
            feature,
        });
    }
    Err(NetworkError::Unknown {
        network: network.to_owned(),
        registered: registered_networks().join(", "),
    })
}

/// Listens on `addr` (`network@addr`; no `@` means `tcp`) with its network's transport.
pub async fn listen(addr: &str) -> Result<Box<dyn Listener>, NetworkError> {
    let key = parse(addr)?;
    let e = entry(&key.network)?;
    e.listen
        .listen(&key.address)
        .await
        .map_err(|source| NetworkError::Io {
            addr: key.to_string(),
            source,
        })
}

/// Dials `addr` (`network@addr`; no `@` means `tcp`) with its network's transport within
/// `timeout`.
pub async fn dial(addr: &str, timeout: Duration) -> Result<Dialed, NetworkError> {
    let key = parse(addr)?;
    let e = entry(&key.network)?;
    e.dialer
        .dial(&key.address, timeout)
        .await
        .map_err(|source| NetworkError::Io {
            addr: key.to_string(),
            source,
        })
}

fn parse(addr: &str) -> Result<ServerAddr, NetworkError> {
    ServerAddr::parse(addr).map_err(|_| NetworkError::InvalidAddress(addr.to_owned()))
}

fn read_table() -> std::sync::RwLockReadGuard<'static, BTreeMap<String, Entry>> {
    // The table holds plain data: a panic elsewhere cannot leave it half-written.
    table().read().unwrap_or_else(|e| e.into_inner())
}

fn write_table() -> std::sync::RwLockWriteGuard<'static, BTreeMap<String, Entry>> {
    table().write().unwrap_or_else(|e| e.into_inner())
}
