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
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

/// The body of an upload: an [`AsyncRead`] of exactly `FileSize` bytes, read from the side
/// connection into the handler's own buffer (this type buffers nothing).
///
/// It ends (reads 0) after `FileSize` bytes. If the client closes early, the read fails with
/// `UnexpectedEof`; if no byte comes for the idle timeout, with `TimedOut`.
pub struct Upload {
    conn: Option<Take<TcpStream>>,
    /// Where the connection goes when the handler drops the body: the side listener closes it
    /// only after the handler has returned, so a client waiting for the close knows it is done.
    give_back: Option<oneshot::Sender<TcpStream>>,
    idle: Duration,
    timed_out: bool,
    deadline: Pin<Box<Sleep>>,
    counters: Arc<Counters>,
}

impl Upload {
    pub(crate) fn new(
        conn: TcpStream,
        size: u64,
        idle: Duration,
        counters: Arc<Counters>,
        give_back: oneshot::Sender<TcpStream>,
    ) -> Self {
        Upload {
            conn: Some(conn.take(size)),
            give_back: Some(give_back),
            idle,
            timed_out: false,
            deadline: Box::pin(tokio::time::sleep(idle)),
            counters,
        }
    }

    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.conn.as_ref().map_or(0, Take::limit)
    }

    /// The client's address.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        match &self.conn {
            Some(c) => c.get_ref().peer_addr(),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

fn stalled() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "upload made no progress within the idle timeout",
    )
}

impl AsyncRead for Upload {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.timed_out {
            // Stays failed: a later read must not look like the end of the file.
            return Poll::Ready(Err(stalled()));
        }
        let Some(conn) = this.conn.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let remaining = conn.limit();
        if remaining == 0 || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(conn).poll_read(cx, buf) {
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                this.timed_out = true;
                Counters::bump(&this.counters.timed_out);
                Poll::Ready(Err(stalled()))
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

impl Drop for Upload {
    fn drop(&mut self) {
        if let (Some(conn), Some(back)) = (self.conn.take(), self.give_back.take()) {
            let _ = back.send(conn.into_inner());
        }
    }
}
