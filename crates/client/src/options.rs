//! Client and per-call options.

use fastrpc_core::{CompressType, Limits, Metadata, SerializeType};
use std::time::Duration;

/// Settings of one client connection.
///
/// Defaults follow Go's `client.DefaultOption` where it has one (MsgPack, 1 s connect timeout,
/// no compression, no heartbeat).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Serialize type for arguments whose type has no preference (serde types). Default MsgPack.
    pub serialize_type: SerializeType,
    /// Compression for request payloads longer than 1024 bytes. Default none.
    pub compress_type: CompressType,
    /// Dial timeout. Default 1 s.
    pub connect_timeout: Duration,
    /// Close the connection when nothing was received for this long. Default none.
    pub idle_timeout: Option<Duration>,
    /// Bound on each write to the socket. Default none.
    pub write_timeout: Option<Duration>,
    /// Periodic heartbeats. Default off.
    pub heartbeat: Option<HeartbeatOptions>,
    /// Token sent as `__AUTH` on every call.
    pub auth_token: Option<String>,
    /// Limits on received frames.
    pub limits: Limits,
    /// Bytes of requests that may wait for the writer (queued or being written) before
    /// callers wait (backpressure). Default 4 MiB.
    pub max_queued_bytes: usize,
    /// Bytes of calls in flight (request frames plus 256 bytes each, from a call's start until
    /// it returns) before new calls wait; the same figure bounds replies read but not yet
    /// taken by their callers, past which the client stops reading the server. Default
    /// 32 MiB. A call larger than this still goes through when it is alone.
    pub max_pending_bytes: usize,
    /// Server pushes buffered for [`Client::take_push_receiver`](crate::Client::take_push_receiver).
    /// Default 1024.
    pub push_capacity: usize,
    /// Bytes of server pushes buffered for the push receiver. Default 4 MiB.
    pub max_push_bytes: usize,
    /// When the push buffer is full: wait (`true`, Go's `BidirectionalBlock`) or drop the
    /// push (`false`, the default).
    pub push_blocking: bool,
    /// How long a call without its own [`CallOptions::timeout`] waits for its reply before it
    /// fails with [`ClientError::Timeout`](crate::ClientError::Timeout). Default 30 s; `None`
    /// waits for ever. It is enforced locally only (not sent as `__ServerTimeout`, so the
    /// frames of a call without a deadline stay identical to Go's).
    pub default_timeout: Option<Duration>,
    /// TLS on `tcp@` (and `tcp4@`, `tcp6@`) addresses, as Go's `Option.TLSConfig` (feature
    /// `tls`). Default none.
    #[cfg(feature = "tls")]
    pub tls: Option<fastrpc_transport::network::tls::ClientTls>,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            serialize_type: SerializeType::MSGPACK,
            compress_type: CompressType::NONE,
            connect_timeout: Duration::from_secs(1),
            idle_timeout: None,
            write_timeout: None,
            heartbeat: None,
            auth_token: None,
            limits: Limits::default(),
            max_queued_bytes: ClientOptions::DEFAULT_MAX_QUEUED_BYTES,
            max_pending_bytes: ClientOptions::DEFAULT_MAX_PENDING_BYTES,
            push_capacity: 1024,
            max_push_bytes: ClientOptions::DEFAULT_MAX_PUSH_BYTES,
            push_blocking: false,
            default_timeout: Some(ClientOptions::DEFAULT_TIMEOUT),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientOptions {
    /// Default for [`ClientOptions::default_timeout`]: 30 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Sets the timeout of calls that set none themselves; `None` turns it off.
    pub fn default_timeout(mut self, t: Option<Duration>) -> Self {
        self.default_timeout = t;
        self
    }

    /// Default of [`ClientOptions::max_queued_bytes`]: 4 MiB.
    pub const DEFAULT_MAX_QUEUED_BYTES: usize = 4 << 20;
    /// Default of [`ClientOptions::max_pending_bytes`]: 32 MiB.
    pub const DEFAULT_MAX_PENDING_BYTES: usize = 32 << 20;
    /// Default of [`ClientOptions::max_push_bytes`]: 4 MiB.
    pub const DEFAULT_MAX_PUSH_BYTES: usize = 4 << 20;

    /// Sets the default serialize type.
    pub fn serialize_type(mut self, st: SerializeType) -> Self {
        self.serialize_type = st;
        self
    }
    /// Sets the compress type.
    pub fn compress_type(mut self, ct: CompressType) -> Self {
        self.compress_type = ct;
        self
    }
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
    /// Turns heartbeats on.
    pub fn heartbeat(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.heartbeat = Some(HeartbeatOptions { interval, max_wait });
        self
    }
    /// Sets the auth token.
    pub fn auth(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(token.into());
        self
    }
    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = Some(t);
        self
    }
    /// Sets the frame limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Sets the budget of requests waiting for the writer.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }
    /// Sets the budget of calls in flight and of replies not yet taken.
    pub fn max_pending_bytes(mut self, bytes: usize) -> Self {
        self.max_pending_bytes = bytes;
        self
    }
    /// Sets the budget of queued server pushes.
    pub fn max_push_bytes(mut self, bytes: usize) -> Self {
        self.max_push_bytes = bytes;
        self
    }
    /// Makes server pushes wait for room instead of being dropped.
    pub fn push_blocking(mut self, on: bool) -> Self {
        self.push_blocking = on;
        self
    }

    /// Runs TLS with `tls` on `tcp@` addresses (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: fastrpc_transport::network::tls::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// Heartbeat settings (Go's `Heartbeat`, `HeartbeatInterval`, `MaxWaitForHeartbeat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatOptions {
    /// Time between heartbeats.
    pub interval: Duration,
    /// How long to wait for the echo before closing the connection (Go: 30 s).
    pub max_wait: Duration,
}

/// Settings of one call.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// Deadline of the call, also sent to the server as `__ServerTimeout` (the milliseconds left
    /// when the request is built, truncated as Go does).
    ///
    /// `None`: the client's [`ClientOptions::default_timeout`] applies.
    pub timeout: Option<Duration>,
    /// Request metadata.
    pub metadata: Metadata,
    /// Serialize type for this call, overriding the argument type's preference and the
    /// client default.
    pub serialize_type: Option<SerializeType>,
    /// Compression for this call (still only above 1024 bytes).
    pub compress_type: Option<CompressType>,
}

impl CallOptions {
    /// Sets the deadline.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    /// Adds a metadata pair.
    pub fn meta(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.metadata.insert(k.into(), v.into());
        self
    }
    /// Sets the serialize type.
    pub fn serialize_type(mut self, st: SerializeType) -> Self {
        self.serialize_type = Some(st);
        self
    }
    /// Sets the compression.
    pub fn compress_type(mut self, ct: CompressType) -> Self {
        self.compress_type = Some(ct);
        self
    }
}
