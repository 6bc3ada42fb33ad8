//! [`QuicLimits`]: connection count and flow-control windows, as byte budgets.

use std::sync::Arc;
use std::time::Duration;

use quinn::{IdleTimeout, TransportConfig, VarInt};

use crate::error::QuicError;

/// Bounds for one side of the transport. The flow-control windows are what a peer can make
/// this side buffer: a peer can never have more unread bytes in flight than
/// [`QuicLimits::receive_window`] per connection (QUIC's connection-level flow control), and
/// each connection carries one stream.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct QuicLimits {
    /// Connections a listener holds at once, handshaking or established (default 256). Further
    /// peers are refused at the first packet.
    pub max_connections: usize,
    /// Established connections waiting for [`QuicListener::accept`](crate::QuicListener::accept)
    /// (default 128).
    pub accept_backlog: usize,
    /// Bytes the peer may send on the stream ahead of our reads (default 1 MiB).
    pub stream_receive_window: u32,
    /// Bytes the peer may send on the whole connection ahead of our reads (default 1 MiB).
    pub receive_window: u32,
    /// Bytes this side keeps unacknowledged in flight (default 1 MiB).
    pub send_window: u32,
    /// A connection that hears nothing for this long is closed (default 60 s, QUIC's idle
    /// timeout, negotiated down to the smaller of both sides).
    pub idle_timeout: Duration,
    /// Send a keep-alive this often so an idle rpcx connection survives the idle timeout
    /// (default 15 s; `None` turns it off).
    pub keep_alive: Option<Duration>,
    /// The TLS handshake must complete within this (default 10 s). The stream may come later:
    /// the server sees it only with the client's first request, so a connection waits for it
    /// as long as QUIC keeps the connection alive, holding one of `max_connections`.
    pub handshake_timeout: Duration,
}

impl Default for QuicLimits {
    fn default() -> Self {
        QuicLimits {
            max_connections: 256,
            accept_backlog: 128,
            stream_receive_window: 1 << 20,
            receive_window: 1 << 20,
            send_window: 1 << 20,
            idle_timeout: Duration::from_secs(60),
            keep_alive: Some(Duration::from_secs(15)),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl QuicLimits {
    /// The most bytes one connection's flow-control windows let buffer: the receive window
    /// (what the peer can fill) plus the send window (what we keep for retransmission).
    pub fn connection_budget_bytes(&self) -> u64 {
        u64::from(self.receive_window) + u64::from(self.send_window)
    }

    /// The listener's ceiling: [`QuicLimits::connection_budget_bytes`] times
    /// [`QuicLimits::max_connections`] (512 MiB with the defaults).
    pub fn listener_budget_bytes(&self) -> u64 {
        self.connection_budget_bytes() * self.max_connections as u64
    }

    /// quinn's transport settings for a side that accepts `peer_bidi_streams` streams.
    pub(crate) fn transport(
        &self,
        peer_bidi_streams: u32,
    ) -> Result<Arc<TransportConfig>, QuicError> {
        let mut t = TransportConfig::default();
        let idle = IdleTimeout::try_from(self.idle_timeout)
            .map_err(|_| QuicError::Limit("idle_timeout too large"))?;
        t.max_concurrent_bidi_streams(VarInt::from_u32(peer_bidi_streams))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .stream_receive_window(VarInt::from_u32(self.stream_receive_window))
            .receive_window(VarInt::from_u32(self.receive_window))
            .send_window(u64::from(self.send_window))
            .max_idle_timeout(Some(idle))
            .keep_alive_interval(self.keep_alive)
            .datagram_receive_buffer_size(None);
        Ok(Arc::new(t))
    }
}
