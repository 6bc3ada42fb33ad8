//! `ws@host:port` and `wss@host:port` (feature `ws`): the rpcx byte stream over WebSocket at
//! `/_rpcx_`, from `fastrpc-transport-ws`. [`set_config`] tunes both (default
//! [`WsConfig::default`]); `wss` needs TLS configurations, [`set_wss_server_tls`] for
//! listeners and [`set_wss_client_tls`] for dials (without them, listening or dialing `wss@`
//! fails with a message saying so). [`use_development_tls`] sets both to the development mode
//! (a self-signed certificate made at run time; the client skips verification): for tests
//! and examples only.

use super::registry::Entry;
use super::settings::Setting;
use super::{BoxFuture, BoxStream, Dialed, Dialer, Listener};
pub use fastrpc_transport_ws::{WsConfig, WsListener, WsStream, rustls};
use std::io;
use std::sync::Arc;
use std::time::Duration;

static CONFIG: Setting<WsConfig> = Setting::new();
static SERVER_TLS: Setting<Arc<rustls::ServerConfig>> = Setting::new();
static CLIENT_TLS: Setting<Arc<rustls::ClientConfig>> = Setting::new();

/// The WebSocket configuration of every `ws@` and `wss@` listener and dial from now on.
pub fn set_config(config: WsConfig) {
    CONFIG.set(config);
}

/// The TLS configuration `wss@` listeners use from now on.
pub fn set_wss_server_tls(tls: Arc<rustls::ServerConfig>) {
    SERVER_TLS.set(tls);
}

/// The TLS configuration `wss@` dials use from now on.
pub fn set_wss_client_tls(tls: Arc<rustls::ClientConfig>) {
    CLIENT_TLS.set(tls);
}

/// Development mode for `wss@`, for tests and examples only: listeners get a fresh
/// self-signed certificate for `localhost` (`fastrpc-transport-tls`'s `DevCert`), and dials
/// accept any server certificate (as Go rpcx's examples do with `InsecureSkipVerify`).
pub fn use_development_tls() -> io::Result<()> {
    use fastrpc_transport_tls::{ClientTls, ServerTls};
    let server = ServerTls::development().map_err(io::Error::from)?;
    set_wss_server_tls(Arc::new(server.to_rustls().map_err(io::Error::from)?));
    let client = ClientTls::development()
        .to_rustls()
        .map_err(io::Error::from)?;
    set_wss_client_tls(Arc::new(client));
    Ok(())
}

fn config() -> WsConfig {
    CONFIG.get().unwrap_or_default()
}

fn no_tls(side: &str, setter: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "wss requires TLS: the {side} has no TLS configuration \
             (call fastrpc::transport::network::ws::{setter})"
        ),
    )
}

pub(super) fn entry(tls: bool) -> Entry {
    Entry {
        listen: Arc::new(
            move |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let l = if tls {
                        let server = SERVER_TLS
                            .get()
                            .ok_or_else(|| no_tls("server", "set_wss_server_tls"))?;
                        WsListener::bind_tls(addr.as_str(), server, config()).await
                    } else {
                        WsListener::bind(addr.as_str(), config()).await
                    };
                    Ok(Box::new(Ws(l.map_err(io::Error::other)?)) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(WsDialer { tls }),
    }
}

struct Ws(WsListener);

impl Listener for Ws {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, String)>> {
        Box::pin(async move {
            let (s, peer) = self.0.accept().await?;
            Ok((Box::new(s) as BoxStream, peer.to_string()))
        })
    }

    fn local_addr(&self) -> String {
        self.0.local_addr().to_string()
    }

    fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        Some(self.0.local_addr())
    }
}

struct WsDialer {
    tls: bool,
}

impl Dialer for WsDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            let mut cfg = config();
            cfg.handshake_timeout = cfg.handshake_timeout.min(timeout);
            let s = if self.tls {
                let client = CLIENT_TLS
                    .get()
                    .ok_or_else(|| no_tls("client", "set_wss_client_tls"))?;
                let host = addr
                    .rsplit_once(':')
                    .map_or(addr, |(h, _)| h)
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                WsStream::connect_tls(addr, host, client, &cfg).await
            } else {
                WsStream::connect(addr, &cfg).await
            };
            let s = s.map_err(|e| match e {
                fastrpc_transport_ws::WsError::TimedOut => io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect to {addr} timed out"),
                ),
                e => io::Error::other(e),
            })?;
            Ok(Dialed {
                stream: Box::new(s),
                remote: addr.to_owned(),
            })
        })
    }
}
