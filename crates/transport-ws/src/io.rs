//! The boxed byte stream under a WebSocket: plain TCP or TLS, either side.

use tokio::io::{AsyncRead, AsyncWrite};

/// Any stream a WebSocket can run over.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One type for ws and wss, client and server.
pub(crate) type BoxIo = Box<dyn Io>;
