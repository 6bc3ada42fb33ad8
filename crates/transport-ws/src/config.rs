//! [`WsConfig`]: the limits and the client's `Origin`.

use std::time::Duration;

/// The path Go rpcx serves WebSocket at.
pub const RPCX_PATH: &str = "/_rpcx_";

/// Settings for both sides.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WsConfig {
    /// The largest WebSocket message accepted, in bytes (default 16 MiB, under Go's
    /// x/net/websocket default of 32 MiB). A larger one ends the connection with an error.
    /// This is also what one connection's read buffer can grow to.
    pub max_message_size: usize,
    /// The largest frame this side writes (default 256 KiB); longer writes are cut into
    /// several frames, which the peer reads as one byte stream.
    pub max_frame_out: usize,
    /// The longest HTTP upgrade head accepted (default 8 KiB).
    pub max_head_bytes: usize,
    /// TLS and the upgrade must complete within this (default 10 s).
    pub handshake_timeout: Duration,
    /// Connections a listener holds at once, handshaking or serving (default 1024).
    pub max_connections: usize,
    /// Established connections waiting for `accept` (default 128).
    pub accept_backlog: usize,
    /// The `Origin` a client sends; `None` sends Go's `http://host:port` (`https://` for wss).
    pub origin: Option<String>,
    /// The path to serve and dial (default [`RPCX_PATH`]).
    pub path: String,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            max_message_size: 16 << 20,
            max_frame_out: 256 << 10,
            max_head_bytes: 8 << 10,
            handshake_timeout: Duration::from_secs(10),
            max_connections: 1024,
            accept_backlog: 128,
            origin: None,
            path: RPCX_PATH.to_string(),
        }
    }
}

impl WsConfig {
    /// The most bytes one connection buffers: a whole message being read, plus one frame
    /// being written, plus the upgrade head.
    pub fn connection_budget_bytes(&self) -> usize {
        self.max_message_size + self.max_frame_out + 14 + self.max_head_bytes
    }
}
