//! The batching writer task.

use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// A command for the writer task.
#[derive(Debug)]
pub enum WriteCmd {
    /// Write an encoded frame.
    Frame(Bytes),
    /// Write an encoded frame, then drop the [`Held`] that came with it: the bytes it accounts
    /// for stay counted until they are written (or the writer gives up).
    Accounted(Bytes, Held),
    /// Flush what is queued before this command, shut the stream down and stop.
    Close,
}

/// Whoever counts the bytes of queued frames: told when they are no longer held.
pub trait WriteAccount: Send + Sync + 'static {
    /// `queued` bytes of frames and `requests` bytes of the requests they answer are no
    /// longer held (written, or dropped with a dead connection).
    fn release(&self, queued: usize, requests: usize);
}

/// Bytes accounted to a [`WriteAccount`] until this value is dropped, which the writer does
/// once the frame it travels with has been written.
pub struct Held {
    account: Arc<dyn WriteAccount>,
    queued: usize,
    requests: usize,
}

impl Held {
    /// Bytes that `account` has counted and that are released when this is dropped.
    pub fn new(account: Arc<dyn WriteAccount>, queued: usize, requests: usize) -> Held {
        Held {
            account,
            queued,
            requests,
        }
    }
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("queued", &self.queued)
            .field("requests", &self.requests)
            .finish()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.account.release(self.queued, self.requests);
    }
}

/// Asks the writer behind `tx` to flush what is queued and close, even when the queue is full
/// right now (then a task waits for room). Safe to call from `Drop`, inside or outside a runtime.
pub fn request_close(tx: &mpsc::Sender<WriteCmd>) {
    match tx.try_send(WriteCmd::Close) {
        Err(mpsc::error::TrySendError::Full(_)) => {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let tx = tx.clone();
                rt.spawn(async move { tx.send(WriteCmd::Close).await });
            }
        }
        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

/// Settings of [`run_writer`].
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Bound on each write syscall; on expiry the writer fails and the connection is dropped.
    pub write_timeout: Option<Duration>,
    /// Stop gathering frames into one write at this many bytes.
    pub max_batch_bytes: usize,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            write_timeout: None,
            max_batch_bytes: 256 * 1024,
        }
    }
}

/// Writes frames from `rx` to `io` until a [`WriteCmd::Close`], the end of the queue, or an
/// error. Before each write it drains everything already queued into one buffer, so that under
/// load many frames share one syscall while a lone frame is written at once.
pub async fn run_writer<W: AsyncWrite + Unpin>(
    mut io: W,
    mut rx: mpsc::Receiver<WriteCmd>,
    opts: WriterOptions,
) -> std::io::Result<()> {
    // Allocated only when several frames are gathered, and given back after a large batch.
    let mut buf = BytesMut::new();
    // What the frames of the current write account for, dropped once they are written.
    let mut held: Vec<Held> = Vec::new();
    let mut closing = false;
    while !closing {
        let Some(first) = rx.recv().await else { break };
        let mut next = Some(first);
        // A lone frame (the common case at low load, or a whole batch of replies built by the
        // server's reader) is written as it is; only several frames are copied together.
        let mut lone: Option<Bytes> = None;
        while let Some(cmd) = next.take() {
            let frame = match cmd {
                WriteCmd::Frame(f) => f,
                WriteCmd::Accounted(f, h) => {
                    held.push(h);
                    f
                }
                WriteCmd::Close => {
                    closing = true;
                    break;
                }
            };
            if buf.is_empty() && lone.is_none() {
                lone = Some(frame);
            } else {
                if let Some(l) = lone.take() {
                    buf.extend_from_slice(&l);
                }
                buf.extend_from_slice(&frame);
            }
            if buf.len() >= opts.max_batch_bytes {
                break;
            }
            next = rx.try_recv().ok();
        }
        if let Some(l) = lone.take() {
            write_with_timeout(&mut io, &l, opts.write_timeout).await?;
        } else if !buf.is_empty() {
            write_with_timeout(&mut io, &buf, opts.write_timeout).await?;
            buf.clear();
            if buf.capacity() > opts.max_batch_bytes {
                buf = BytesMut::new();
            }
        }
        held.clear();
        if rx.is_empty() && buf.capacity() > 0 {
            // Idle: an idle connection keeps no write buffer.
            buf = BytesMut::new();
        }
    }
    let _ = io.shutdown().await;
    Ok(())
}

async fn write_with_timeout<W: AsyncWrite + Unpin>(
    io: &mut W,
    buf: &[u8],
    timeout: Option<Duration>,
) -> std::io::Result<()> {
    match timeout {
        None => io.write_all(buf).await,
        Some(t) => tokio::time::timeout(t, io.write_all(buf))
            .await
            .unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "write timed out",
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn batches_and_flushes_before_close() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let (tx, rx) = mpsc::channel(16);
        for i in 0..10u8 {
            tx.send(WriteCmd::Frame(Bytes::from(vec![i; 3])))
                .await
                .unwrap();
        }
        tx.send(WriteCmd::Frame(Bytes::from_static(b"end")))
            .await
            .unwrap();
        tx.send(WriteCmd::Close).await.unwrap();
        run_writer(a, rx, WriterOptions::default()).await.unwrap();
        let mut out = Vec::new();
        b.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 33);
        assert_eq!(&out[30..], b"end");
    }
}
