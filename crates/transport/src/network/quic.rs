//! `quic@host:port` (feature `quic`): the rpcx byte stream over QUIC as Go rpcx does it, from
//! `fastrpc-transport-quic`. QUIC requires TLS, so a listener needs [`set_server_tls`] and a
//! dialer [`set_client_tls`]; without them, listening or dialing fails with a message saying
//! so. [`use_development_tls`] sets both to the development mode (a self-signed certificate
//! made at run time; the client skips verification): for tests and examples only.

use super::registry::Entry;
use super::settings::Setting;
use super::socket_listener::{SocketListener, Socketed};
use super::{BoxFuture, Dialed, Dialer, Listener, within};
pub use fastrpc_transport_quic::{
    ClientTls, DevCert, Identity, QuicLimits, QuicListener, QuicStream, ServerTls,
};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

static SERVER_TLS: Setting<ServerTls> = Setting::new();
static CLIENT_TLS: Setting<ClientTls> = Setting::new();
static LIMITS: Setting<QuicLimits> = Setting::new();

/// The certificate `quic@` listeners present from now on.
pub fn set_server_tls(tls: ServerTls) {
    SERVER_TLS.set(tls);
}

/// How `quic@` dials check servers from now on.
pub fn set_client_tls(tls: ClientTls) {
    CLIENT_TLS.set(tls);
}

/// The limits of `quic@` listeners and dials from now on (default [`QuicLimits::default`]).
pub fn set_limits(limits: QuicLimits) {
    LIMITS.set(limits);
}

/// Development mode, for tests and examples only: listeners get a fresh self-signed
/// certificate for `localhost`, and dials accept any server certificate (as Go rpcx's
/// examples do with `InsecureSkipVerify`).
pub fn use_development_tls() -> io::Result<()> {
    set_server_tls(ServerTls::development().map_err(io::Error::other)?);
    set_client_tls(ClientTls::development());
    Ok(())
}

fn no_tls(side: &str, setter: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "quic requires TLS: the {side} has no certificate configuration \
             (call fastrpc::transport::network::quic::{setter}, or use_development_tls for tests)"
        ),
    )
}

async fn resolve(addr: &str) -> io::Result<std::net::SocketAddr> {
    tokio::net::lookup_host(addr).await?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no address for {addr}"),
        )
    })
}

pub(super) fn entry() -> Entry {
    Entry {
        listen: Arc::new(
            |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let tls = SERVER_TLS
                        .get()
                        .ok_or_else(|| no_tls("server", "set_server_tls"))?;
                    let limits = LIMITS.get().unwrap_or_default();
                    let l = QuicListener::bind(resolve(&addr).await?, &tls, limits)
                        .map_err(io::Error::other)?;
                    Ok(Box::new(Socketed(l)) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(QuicDialer),
    }
}

impl SocketListener for QuicListener {
    type Stream = QuicStream;

    fn accept_socket(&mut self) -> BoxFuture<'_, io::Result<(QuicStream, SocketAddr)>> {
        Box::pin(self.accept())
    }

    fn bound_addr(&self) -> Option<SocketAddr> {
        self.local_addr().ok()
    }
}

struct QuicDialer;

impl Dialer for QuicDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            let tls = CLIENT_TLS
                .get()
                .ok_or_else(|| no_tls("client", "set_client_tls"))?;
            let limits = LIMITS.get().unwrap_or_default();
            // The certificate is checked for the host part of the address.
            let host = addr
                .rsplit_once(':')
                .map_or(addr, |(h, _)| h)
                .trim_start_matches('[')
                .trim_end_matches(']');
            let s = within(timeout, addr, async {
                let sa = resolve(addr).await?;
                QuicStream::connect(sa, host, &tls, &limits)
                    .await
                    .map_err(io::Error::other)
            })
            .await?;
            let remote = s.peer_addr().to_string();
            Ok(Dialed {
                stream: Box::new(s),
                remote,
            })
        })
    }
}
