//! [`Upload`]: the file bytes of one upload, read straight from the side connection.

use crate::stats::Counters;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf, Take};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The body of an upload: an [`AsyncRead`] of exactly `FileSize` bytes, read from the side
/// connection into the handler's own buffer (this type buffers nothing).
///
/// It ends (reads 0) after `FileSize` bytes. If the client closes early, the read fails with
/// `UnexpectedEof`; if no byte comes for the idle timeout, with `TimedOut`.
pub struct Upload {
    conn: Take<TcpStream>,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    counters: Arc<Counters>,
}

impl Upload {
    pub(crate) fn new(conn: TcpStream, size: u64, idle: Duration, counters: Arc<Counters>) -> Self {
        Upload {
            conn: conn.take(size),
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            counters,
        }
    }

    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.conn.limit()
    }

    /// The client's address.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.conn.get_ref().peer_addr()
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

impl AsyncRead for Upload {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let remaining = this.conn.limit();
        if remaining == 0 || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.conn).poll_read(cx, buf) {
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                Counters::bump(&this.counters.timed_out);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "upload made no progress within the idle timeout",
                )))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the client closed with {remaining} bytes still to come"),
                    )));
                }
                this.counters.bytes_received.fetch_add(n as u64, Relaxed);
                let next = Instant::now() + this.idle;
                this.deadline.as_mut().reset(next);
                Poll::Ready(Ok(()))
            }
        }
    }
}
