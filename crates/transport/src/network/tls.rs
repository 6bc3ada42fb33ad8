//! TLS on TCP (feature `tls`), from `fastrpc-transport-tls`.
//!
//! As in Go rpcx, TLS is TCP with a TLS configuration: a server built with
//! `Server::builder().tls(..)` makes its `tcp@` listeners TLS, and a client with
//! `ClientOptions::tls(..)` runs TLS on `tcp@`. The name `tls@host:port` is registered too,
//! for the `network@addr` form: its listeners use [`set_server_tls`], its dials
//! [`set_client_tls`] (without them, listening or dialing fails with a message saying so).
//! [`use_development_tls`] sets both to the development mode (a self-signed certificate made
//! at run time; the client skips verification): for tests and examples only.
//!
//! Keep-alive and nodelay are as for `tcp` ([`crate::tcp`]); handshakes run in the
//! background within [`TlsLimits`].

use super::registry::Entry;
use super::settings::Setting;
use super::socket_listener::{SocketListener, Socketed};
use super::{BoxFuture, Dialed, Dialer, Listener};
pub use fastrpc_transport_tls::{
    ClientTls, DevCert, Identity, ServerTls, TlsConnector, TlsError, TlsLimits, TlsListener,
    TlsStats, host_of, read_cert_file, read_certs, rustls,
};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

static SERVER_TLS: Setting<Arc<rustls::ServerConfig>> = Setting::new();
static CLIENT_TLS: Setting<TlsConnector> = Setting::new();
static LIMITS: Setting<TlsLimits> = Setting::new();

/// The certificate `tls@` listeners present from now on.
pub fn set_server_tls(tls: &ServerTls) -> Result<(), TlsError> {
    SERVER_TLS.set(Arc::new(tls.to_rustls()?));
    Ok(())
}

/// How `tls@` dials check servers from now on.
pub fn set_client_tls(tls: &ClientTls) -> Result<(), TlsError> {
    CLIENT_TLS.set(TlsConnector::new(tls)?);
    Ok(())
}

/// The handshake limits of every TLS listener from now on (default [`TlsLimits::default`]).
pub fn set_limits(limits: TlsLimits) {
    LIMITS.set(limits);
}

/// Development mode, for tests and examples only: `tls@` listeners get a fresh self-signed
/// certificate for `localhost`, and `tls@` dials accept any server certificate (as Go rpcx's
/// examples do with `InsecureSkipVerify`).
pub fn use_development_tls() -> Result<(), TlsError> {
    set_server_tls(&ServerTls::development()?)?;
    set_client_tls(&ClientTls::development())
}

fn limits() -> TlsLimits {
    LIMITS.get().unwrap_or_default()
}

fn no_tls(side: &str, setter: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "tls: the {side} has no TLS configuration \
             (call fastrpc::transport::network::tls::{setter}, or use_development_tls for tests)"
        ),
    )
}

/// Serves TLS with `config` on a bound TCP listener, with the socket settings of `tcp`
/// (keep-alive, nodelay): what a server with a TLS configuration does on `tcp@`.
pub fn listen_over_tcp(
    tcp: TcpListener,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<Box<dyn Listener>> {
    let l = TlsListener::from_tcp(
        tcp,
        config,
        limits(),
        Arc::new(crate::tcp::prepare_accepted),
    )?;
    Ok(Box::new(Socketed(l)))
}

/// Dials `addr` in the TCP `network` (`tcp`, `tcp4`, `tcp6`), then runs the TLS handshake,
/// all within `timeout`: what a client with a TLS configuration does on `tcp@`. Returns the
/// stream and the remote `ip:port`. A failed handshake is an `io::Error` whose inner error
/// is the [`TlsError`].
pub async fn dial_over_tcp(
    network: &str,
    addr: &str,
    connector: &TlsConnector,
    timeout: Duration,
) -> io::Result<(
    fastrpc_transport_tls::tokio_rustls::client::TlsStream<TcpStream>,
    String,
)> {
    let started = tokio::time::Instant::now();
    let tcp = crate::tcp::connect_network(network, addr, timeout).await?;
    let remote = tcp
        .peer_addr()
        .map_or_else(|_| addr.to_owned(), |a| a.to_string());
    let left = timeout.saturating_sub(started.elapsed());
    let stream = connector.connect(host_of(addr), tcp, left).await?;
    Ok((stream, remote))
}

pub(super) fn entry() -> Entry {
    Entry {
        listen: Arc::new(
            |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let config = SERVER_TLS
                        .get()
                        .ok_or_else(|| no_tls("server", "set_server_tls"))?;
                    let tcp = crate::tcp::bind_network("tcp", &addr).await?;
                    listen_over_tcp(tcp, config)
                })
            },
        ),
        dialer: Arc::new(TlsDialer),
    }
}

impl SocketListener for TlsListener {
    type Stream = fastrpc_transport_tls::tokio_rustls::server::TlsStream<TcpStream>;

    fn accept_socket(&mut self) -> BoxFuture<'_, io::Result<(Self::Stream, SocketAddr)>> {
        Box::pin(self.accept())
    }

    fn bound_addr(&self) -> Option<SocketAddr> {
        Some(self.local_addr())
    }
}

struct TlsDialer;

impl Dialer for TlsDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            let connector = CLIENT_TLS
                .get()
                .ok_or_else(|| no_tls("client", "set_client_tls"))?;
            let (stream, remote) = dial_over_tcp("tcp", addr, &connector, timeout).await?;
            Ok(Dialed {
                stream: Box::new(stream),
                remote,
            })
        })
    }
}
