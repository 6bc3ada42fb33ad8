//! [`Counted`]: a read or write half that counts its bytes and I/O errors into shared
//! [`IoCounters`], for the servers' and clients' `stats()` snapshots.
//!
//! It counts once per read or write call on the socket (the reader reads as much as it can
//! at once, the writers write whole batches), with relaxed atomics: the cost is one add per
//! system call, not per frame.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes and errors of the streams that share these counters (relaxed: each value is exact,
/// but two values read together may be a moment apart).
#[derive(Debug, Default)]
pub struct IoCounters {
    /// Bytes read.
    pub bytes_read: AtomicU64,
    /// Bytes written.
    pub bytes_written: AtomicU64,
    /// Failed reads: I/O errors (the owner may add protocol errors).
    pub read_errors: AtomicU64,
    /// Failed writes and flushes: I/O errors.
    pub write_errors: AtomicU64,
}

impl IoCounters {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A read or write half whose bytes and I/O errors are added to [`IoCounters`].
#[derive(Debug)]
pub struct Counted<T> {
    inner: T,
    counters: Arc<IoCounters>,
}

impl<T> Counted<T> {
    /// Counts what goes through `inner` into `counters`.
    pub fn new(inner: T, counters: Arc<IoCounters>) -> Counted<T> {
        Counted { inner, counters }
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// Counts the outcome of a write-side poll: `bytes` on success, an error otherwise.
fn count_write<R>(c: &IoCounters, r: &Poll<io::Result<R>>, bytes: impl FnOnce(&R) -> usize) {
    match r {
        Poll::Ready(Ok(v)) => IoCounters::add(&c.bytes_written, bytes(v) as u64),
        Poll::Ready(Err(_)) => IoCounters::add(&c.write_errors, 1),
        Poll::Pending => {}
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &r {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n > 0 {
                    IoCounters::add(&self.counters.bytes_read, n as u64);
                }
            }
            Poll::Ready(Err(_)) => IoCounters::add(&self.counters.read_errors, 1),
            Poll::Pending => {}
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        count_write(&self.counters, &r, |n| *n);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        count_write(&self.counters, &r, |n| *n);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        count_write(&self.counters, &r, |_| 0);
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A failed shutdown of a socket the peer already closed is not a lost write.
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_bytes_both_ways_and_write_errors() {
        let (a, b) = tokio::io::duplex(64);
        let counters = Arc::new(IoCounters::default());
        let (ar, aw) = tokio::io::split(a);
        let mut w = Counted::new(aw, counters.clone());
        let mut r = Counted::new(ar, counters.clone());
        let (mut br, mut bw) = tokio::io::split(b);
        w.write_all(b"hello").await.unwrap();
        let mut got = [0u8; 5];
        br.read_exact(&mut got).await.unwrap();
        bw.write_all(b"abc").await.unwrap();
        let mut back = [0u8; 3];
        r.read_exact(&mut back).await.unwrap();
        assert_eq!(IoCounters::get(&counters.bytes_written), 5);
        assert_eq!(IoCounters::get(&counters.bytes_read), 3);
        drop((br, bw));
        // The peer is gone: writing fails and is counted.
        assert!(w.write_all(b"lost").await.is_err());
        assert_eq!(IoCounters::get(&counters.write_errors), 1);
    }
}
