//! The limits of the side listener, with safe defaults.

use std::time::Duration;

/// Limits of a [`FileTransfer`](crate::FileTransfer) or [`StreamService`](crate::StreamService)
/// side listener. Every field has a safe default ([`SideLimits::default`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SideLimits {
    /// Most tokens issued and not yet used (Go's `waitNum`). When full, `TransferFile`,
    /// `DownloadFile` and `Stream` answer an error instead of a token. Default 1024.
    pub max_tokens: usize,
    /// How long a token stays valid after it is issued. Default 60 s.
    pub token_lifetime: Duration,
    /// Largest `FileSize` an upload may announce; a larger one gets an error reply and no token.
    /// Default 1 GiB.
    pub max_upload_bytes: u64,
    /// How long a new side connection may take to send its 32-byte token. Default 10 s.
    pub token_timeout: Duration,
    /// How long an upload or download may make no progress before its connection is closed.
    /// Default 60 s. (A stream belongs to its handler, which sets its own timeouts.)
    pub idle_timeout: Duration,
    /// Most side connections open at once; one more is closed as soon as it is accepted.
    /// Default 256.
    pub max_connections: usize,
    /// Size of the one buffer a download copies through, per connection. Default 32 KiB. The
    /// bytes a side listener buffers are at most `max_connections * chunk_size`.
    pub chunk_size: usize,
}

impl SideLimits {
    /// Default of [`max_tokens`](Self::max_tokens).
    pub const DEFAULT_MAX_TOKENS: usize = 1024;
    /// Default of [`token_lifetime`](Self::token_lifetime).
    pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
    /// Default of [`max_upload_bytes`](Self::max_upload_bytes).
    pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;
    /// Default of [`token_timeout`](Self::token_timeout).
    pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default of [`idle_timeout`](Self::idle_timeout).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default of [`max_connections`](Self::max_connections).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
    /// Default of [`chunk_size`](Self::chunk_size).
    pub const DEFAULT_CHUNK_SIZE: usize = 32 * 1024;

    /// Sets [`max_tokens`](Self::max_tokens).
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n;
        self
    }

    /// Sets [`token_lifetime`](Self::token_lifetime).
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.token_lifetime = d;
        self
    }

    /// Sets [`max_upload_bytes`](Self::max_upload_bytes).
    pub fn max_upload_bytes(mut self, n: u64) -> Self {
        self.max_upload_bytes = n;
        self
    }

    /// Sets [`token_timeout`](Self::token_timeout).
    pub fn token_timeout(mut self, d: Duration) -> Self {
        self.token_timeout = d;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`chunk_size`](Self::chunk_size) (at least 1).
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk_size = n.max(1);
        self
    }
}

impl Default for SideLimits {
    fn default() -> Self {
        SideLimits {
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            token_lifetime: Self::DEFAULT_TOKEN_LIFETIME,
            max_upload_bytes: Self::DEFAULT_MAX_UPLOAD_BYTES,
            token_timeout: Self::DEFAULT_TOKEN_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            chunk_size: Self::DEFAULT_CHUNK_SIZE,
        }
    }
}
