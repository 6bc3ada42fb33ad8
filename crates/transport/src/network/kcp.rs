//! `kcp@host:port` (feature `kcp`): the rpcx byte stream over KCP with kcp-go's session
//! framing, from `fastrpc-transport-kcp`. Listeners and dialers use [`set_config`]'s
//! configuration, by default [`KcpConfig::rpcx_example`] (AES with the key rpcx's examples
//! derive, as Go rpcx's KCP examples use), so both sides must agree on it.

use super::registry::Entry;
use super::settings::Setting;
use super::socket_listener::{SocketListener, Socketed};
use super::{BoxFuture, Dialed, Dialer, Listener, within};
pub use fastrpc_transport_kcp::{BlockCrypt, KcpConfig, KcpListener, KcpStream};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

static CONFIG: Setting<KcpConfig> = Setting::new();

/// Sets the KCP configuration of every `kcp@` listener and dial from now on.
pub fn set_config(config: KcpConfig) {
    CONFIG.set(config);
}

/// The configuration `kcp@` uses now.
pub fn config() -> KcpConfig {
    CONFIG.get().unwrap_or_else(KcpConfig::rpcx_example)
}

pub(super) fn entry() -> Entry {
    Entry {
        listen: Arc::new(
            |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let l = KcpListener::bind(addr.as_str(), config()).await?;
                    Ok(Box::new(Socketed(l)) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(KcpDialer),
    }
}

impl SocketListener for KcpListener {
    type Stream = KcpStream;

    fn accept_socket(&mut self) -> BoxFuture<'_, io::Result<(KcpStream, SocketAddr)>> {
        Box::pin(self.accept())
    }

    fn bound_addr(&self) -> Option<SocketAddr> {
        Some(self.local_addr())
    }
}

struct KcpDialer;

impl Dialer for KcpDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            let s = within(timeout, addr, KcpStream::connect(addr, config())).await?;
            let remote = s.peer_addr().to_string();
            Ok(Dialed {
                stream: Box::new(s),
                remote,
            })
        })
    }
}
