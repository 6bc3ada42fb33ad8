//! The batching writer: a queue of frames and the task that writes them.
//!
//! Producers push encoded frames into a [`WriteQueue`]; one writer task drains everything queued
//! into one buffer before each write syscall (batching, as gorpc does), and writes a lone frame
//! as it is. The task is started by the first frame pushed, so a connection that never gets a
//! reply costs no writer task; an idle writer keeps no batch buffer.
//!
//! The queue is a `VecDeque` under a short lock (no `.await` under it) rather than an `mpsc`
//! channel, because a channel allocates its first block of slots up front (kilobytes per
//! connection) and is bounded in messages, while what matters here is bytes: frames can carry a
//! [`Held`], bytes counted against a budget until the frame is written.

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// Whoever counts the bytes of queued frames: told when they are no longer held.
pub trait WriteAccount: Send + Sync + 'static {
    /// `queued` bytes of frames and `requests` bytes of the requests they answer are no
    /// longer held (written, or dropped with a dead connection).
    fn release(&self, queued: usize, requests: usize);
}

/// Bytes accounted to a [`WriteAccount`] until this value is dropped, which the writer does
/// once the frame it travels with has been written (or can no longer be).
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

/// Settings of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Bound on each write; on expiry the writer fails and the connection is dropped.
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

type Entry = (Bytes, Option<Held>);
type Start = Box<dyn FnOnce(Arc<WriteQueue>) -> AbortHandle + Send>;

struct State {
    frames: VecDeque<Entry>,
    close_requested: bool,
    /// Starts the writer task; taken by the first push.
    start: Option<Start>,
    task: Option<AbortHandle>,
}

/// Frames waiting for a connection's writer task. Shared (`Arc`) by every producer.
pub struct WriteQueue {
    state: Mutex<State>,
    /// Set once the writer is gone (closed, failed, or never needed); nothing more is written.
    gone: AtomicBool,
    wake_writer: Notify,
    gone_notify: Notify,
}

impl std::fmt::Debug for WriteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteQueue")
            .field("gone", &self.is_closed())
            .finish()
    }
}

impl WriteQueue {
    /// A queue whose writer task, started by the first frame pushed, writes to `io`.
    /// The writer ends at [`WriteQueue::close`] (after writing what is queued), on a write
    /// error or timeout (it logs nothing: [`WriteQueue::closed`] tells the owner), or at
    /// [`WriteQueue::abort`].
    pub fn new<W>(io: W, opts: WriterOptions) -> Arc<WriteQueue>
    where
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let start: Start = Box::new(move |queue: Arc<WriteQueue>| {
            tokio::spawn(run_writer(io, queue, opts)).abort_handle()
        });
        Arc::new(WriteQueue {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                close_requested: false,
                start: Some(start),
                task: None,
            }),
            gone: AtomicBool::new(false),
            wake_writer: Notify::new(),
            gone_notify: Notify::new(),
        })
    }

    /// Queues `frame` (with the bytes it holds, released once it is written). False when the
    /// writer is gone or closing: the frame is dropped and `held` released at once.
    pub fn push(self: &Arc<Self>, frame: Bytes, held: Option<Held>) -> bool {
        let mut st = self.state.lock().unwrap();
        if self.is_closed() || st.close_requested {
            return false;
        }
        let was_empty = st.frames.is_empty();
        st.frames.push_back((frame, held));
        if let Some(start) = st.start.take() {
            st.task = Some(start(self.clone()));
        }
        drop(st);
        if was_empty {
            self.wake_writer.notify_one();
        }
        true
    }

    /// Asks the writer to write what is queued, shut the stream down and stop. A queue whose
    /// writer never started is closed at once.
    pub fn close(&self) {
        let mut st = self.state.lock().unwrap();
        st.close_requested = true;
        if st.start.take().is_some() {
            drop(st);
            self.mark_gone();
            return;
        }
        drop(st);
        self.wake_writer.notify_one();
    }

    /// Stops the writer now, dropping what is queued (a hard shutdown).
    pub fn abort(&self) {
        let mut st = self.state.lock().unwrap();
        st.start = None;
        if let Some(t) = st.task.take() {
            t.abort();
        }
        let frames = std::mem::take(&mut st.frames);
        drop(st);
        drop(frames);
        self.mark_gone();
    }

    /// True once the writer is gone.
    pub fn is_closed(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Waits until the writer is gone (after [`WriteQueue::close`], a write failure or
    /// [`WriteQueue::abort`]).
    pub async fn closed(&self) {
        loop {
            let notified = self.gone_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    fn mark_gone(&self) {
        self.gone.store(true, Ordering::Release);
        // Frames pushed before `gone` was visible are dropped here (their bytes released).
        let frames = std::mem::take(&mut self.state.lock().unwrap().frames);
        drop(frames);
        self.gone_notify.notify_waiters();
    }

    /// Swaps the queued frames into `into` (empty); `None` when closing with nothing queued.
    fn take_into(&self, into: &mut VecDeque<Entry>) -> Option<()> {
        let mut st = self.state.lock().unwrap();
        if st.frames.is_empty() {
            return if st.close_requested { None } else { Some(()) };
        }
        std::mem::swap(&mut st.frames, into);
        Some(())
    }
}

/// Marks the queue gone however the writer ends (also when its task is aborted).
struct Gone(Arc<WriteQueue>);

impl Drop for Gone {
    fn drop(&mut self) {
        self.0.mark_gone();
    }
}

/// Writes frames from `queue` to `io` until closed or failed.
async fn run_writer<W: AsyncWrite + Unpin>(mut io: W, queue: Arc<WriteQueue>, opts: WriterOptions) {
    let guard = Gone(queue);
    let queue = &guard.0;
    let mut local: VecDeque<Entry> = VecDeque::new();
    // Allocated only when several frames are gathered, and given back when idle.
    let mut buf = BytesMut::new();
    let mut held: Vec<Held> = Vec::new();
    loop {
        let notified = queue.wake_writer.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match queue.take_into(&mut local) {
            None => break,
            Some(()) if local.is_empty() => {
                if buf.capacity() > 0 {
                    buf = BytesMut::new();
                }
                if local.capacity() > 64 {
                    local = VecDeque::new();
                }
                notified.await;
                continue;
            }
            Some(()) => {}
        }
        while !local.is_empty() {
            // A lone frame (the common case at low load, or a whole batch of replies built by
            // the server's reader) is written as it is; only several frames are copied together.
            let mut lone: Option<Bytes> = None;
            while let Some((frame, h)) = local.pop_front() {
                held.extend(h);
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
            }
            let written = match lone.take() {
                Some(l) => write_with_timeout(&mut io, &l, opts.write_timeout).await,
                None => {
                    let r = write_with_timeout(&mut io, &buf, opts.write_timeout).await;
                    buf.clear();
                    if buf.capacity() > opts.max_batch_bytes {
                        buf = BytesMut::new();
                    }
                    r
                }
            };
            held.clear();
            if written.is_err() {
                return;
            }
        }
        // Streams that buffer (TLS, WebSocket framing) send only on flush; for TCP it is free.
        if flush_with_timeout(&mut io, opts.write_timeout)
            .await
            .is_err()
        {
            return;
        }
    }
    let _ = io.shutdown().await;
}

/// Flushes `io`; with a timeout, a timer is armed only when the flush does not finish at once
/// (a plain TCP stream always does).
pub(crate) async fn flush_with_timeout<W: AsyncWrite + Unpin>(
    io: &mut W,
    timeout: Option<Duration>,
) -> std::io::Result<()> {
    let Some(t) = timeout else {
        return io.flush().await;
    };
    let ready = std::future::poll_fn(|cx| match std::pin::Pin::new(&mut *io).poll_flush(cx) {
        std::task::Poll::Ready(r) => std::task::Poll::Ready(r.map(|()| true)),
        std::task::Poll::Pending => std::task::Poll::Ready(Ok(false)),
    })
    .await?;
    if ready {
        return Ok(());
    }
    tokio::time::timeout(t, io.flush())
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "flush timed out",
            ))
        })
}

/// Writes all of `buf`; with a timeout, a timer is armed only once the stream stops taking
/// bytes at once (so the common write, which the socket takes whole, costs no timer).
async fn write_with_timeout<W: AsyncWrite + Unpin>(
    io: &mut W,
    buf: &[u8],
    timeout: Option<Duration>,
) -> std::io::Result<()> {
    let Some(t) = timeout else {
        return io.write_all(buf).await;
    };
    let mut written = 0;
    let done = std::future::poll_fn(|cx| {
        while written < buf.len() {
            match std::pin::Pin::new(&mut *io).poll_write(cx, &buf[written..]) {
                std::task::Poll::Ready(Ok(0)) => {
                    return std::task::Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                std::task::Poll::Ready(Ok(n)) => written += n,
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => return std::task::Poll::Ready(Ok(false)),
            }
        }
        std::task::Poll::Ready(Ok(true))
    })
    .await?;
    if done {
        return Ok(());
    }
    tokio::time::timeout(t, io.write_all(&buf[written..]))
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "write timed out",
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::io::AsyncReadExt;

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl WriteAccount for Count {
        fn release(&self, queued: usize, _requests: usize) {
            self.0.fetch_sub(queued, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn batches_and_flushes_before_close_and_releases_what_it_wrote() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let q = WriteQueue::new(a, WriterOptions::default());
        let count = Arc::new(Count::default());
        for i in 0..10u8 {
            count.0.fetch_add(3, Ordering::SeqCst);
            let held = Held::new(count.clone(), 3, 0);
            assert!(q.push(Bytes::from(vec![i; 3]), Some(held)));
        }
        assert!(q.push(Bytes::from_static(b"end"), None));
        q.close();
        assert!(!q.push(Bytes::from_static(b"late"), None));
        q.closed().await;
        let mut out = Vec::new();
        b.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 33);
        assert_eq!(&out[30..], b"end");
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_queue_never_used_starts_no_task_and_closes_at_once() {
        let (a, mut b) = tokio::io::duplex(64);
        let q = WriteQueue::new(a, WriterOptions::default());
        q.close();
        assert!(q.is_closed());
        q.closed().await;
        let mut out = Vec::new();
        b.read_to_end(&mut out).await.unwrap();
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn abort_drops_what_is_queued_and_releases_it() {
        // A peer that never reads: the writer blocks; abort frees everything.
        let (a, _b) = tokio::io::duplex(16);
        let q = WriteQueue::new(a, WriterOptions::default());
        let count = Arc::new(Count::default());
        for _ in 0..4 {
            count.0.fetch_add(1000, Ordering::SeqCst);
            q.push(
                Bytes::from(vec![0u8; 1000]),
                Some(Held::new(count.clone(), 1000, 0)),
            );
        }
        tokio::task::yield_now().await;
        q.abort();
        q.closed().await;
        for _ in 0..100 {
            if count.0.load(Ordering::SeqCst) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }
}
