//! A write-combining outbox: many tasks encode frames straight into one buffer, one writer
//! task writes it out.

use bytes::BytesMut;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, oneshot};

/// The writer behind an [`Outbox`] is gone (write error, timeout or close).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxClosed;

/// Frames waiting for the connection's writer, in one buffer.
///
/// Compared with a channel of encoded frames, a sender here encodes straight into the shared
/// buffer (no allocation or copy per frame) and wakes the writer only when the buffer was empty,
/// so under load one wake-up and one syscall carry every frame queued meanwhile.
///
/// Bounded in bytes: a frame is admitted while the unwritten bytes (queued plus the batch being
/// written) are below `max_bytes`, so at most `max_bytes` plus one frame is ever held; past it,
/// senders wait for the writer (backpressure) and get room back once a write has completed.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    wake_writer: Notify,
    room: Notify,
    dead_notify: Notify,
    dead: AtomicBool,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    buf: BytesMut,
    acks: Vec<oneshot::Sender<()>>,
    closing: bool,
    /// Bytes of the batch the writer is writing now.
    writing: usize,
}

impl Outbox {
    /// An outbox holding at most about `max_bytes` of unwritten frames.
    pub fn new(max_bytes: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            wake_writer: Notify::new(),
            room: Notify::new(),
            dead_notify: Notify::new(),
            dead: AtomicBool::new(false),
            max_bytes: max_bytes.max(1),
        }
    }

    /// Appends one frame written by `encode` (with the outbox locked: keep it short). An
    /// `Err` from `encode` leaves nothing behind and is returned as `Ok(Err(..))`.
    /// `ack`, when given, fires once the frame has been handed to the OS.
    pub async fn push<E>(
        &self,
        encode: impl FnOnce(&mut BytesMut) -> Result<(), E>,
        ack: Option<oneshot::Sender<()>>,
    ) -> Result<Result<(), E>, OutboxClosed> {
        loop {
            let room = self.room.notified();
            {
                let mut st = self.state.lock().unwrap();
                if self.dead.load(Ordering::Acquire) || st.closing {
                    return Err(OutboxClosed);
                }
                if st.buf.len() + st.writing < self.max_bytes {
                    let was_empty = st.buf.is_empty();
                    let start = st.buf.len();
                    if let Err(e) = encode(&mut st.buf) {
                        st.buf.truncate(start);
                        return Ok(Err(e));
                    }
                    st.acks.extend(ack);
                    drop(st);
                    if was_empty {
                        self.wake_writer.notify_one();
                    }
                    return Ok(Ok(()));
                }
            }
            tokio::select! {
                _ = room => {}
                _ = self.dead_notify.notified() => {}
            }
        }
    }

    /// Asks the writer to write what is queued, shut the stream down and stop.
    pub fn close(&self) {
        self.state.lock().unwrap().closing = true;
        self.wake_writer.notify_one();
    }

    /// Bytes not yet handed to the OS: queued frames plus the batch being written.
    pub fn queued_bytes(&self) -> usize {
        let st = self.state.lock().unwrap();
        st.buf.len() + st.writing
    }

    /// The most bytes admitted before senders wait (one frame may go past it).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// True once the writer stopped.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Resolves once the writer stopped.
    pub async fn dead(&self) {
        loop {
            let n = self.dead_notify.notified();
            if self.is_dead() {
                return;
            }
            n.await;
        }
    }

    fn mark_dead(&self) {
        self.dead.store(true, Ordering::Release);
        let mut st = self.state.lock().unwrap();
        st.acks.clear();
        st.buf = BytesMut::new();
        st.writing = 0;
        drop(st);
        self.dead_notify.notify_waiters();
        self.room.notify_waiters();
    }
}

/// Room an idle outbox keeps in each of its two buffers; more is given back.
const KEEP_IDLE: usize = 64 * 1024;

/// Writes what `outbox` collects to `io` until the outbox is closed or a write fails; the
/// outbox is marked dead on the way out, which fails every later and waiting sender.
/// `yield_before_write` lets senders that are already awake add their frames first.
pub async fn run_outbox_writer<W: AsyncWrite + Unpin>(
    mut io: W,
    outbox: &Outbox,
    write_timeout: Option<Duration>,
    yield_before_write: bool,
) -> std::io::Result<()> {
    let mut spare = BytesMut::new();
    let result = async {
        loop {
            let wake = outbox.wake_writer.notified();
            let taken = {
                let mut st = outbox.state.lock().unwrap();
                if st.buf.is_empty() && !st.closing {
                    // Idle: a connection that sent large frames gives their room back.
                    if st.buf.capacity() > KEEP_IDLE {
                        st.buf = BytesMut::new();
                    }
                    if spare.capacity() > KEEP_IDLE {
                        spare = BytesMut::new();
                    }
                    None
                } else {
                    // Swap buffers so senders keep appending while this batch is written.
                    spare.clear();
                    let batch = std::mem::replace(&mut st.buf, std::mem::take(&mut spare));
                    st.writing = batch.len();
                    Some((batch, std::mem::take(&mut st.acks), st.closing))
                }
            };
            let Some((batch, acks, closing)) = taken else {
                wake.await;
                if yield_before_write {
                    tokio::task::yield_now().await;
                }
                continue;
            };
            if !batch.is_empty() {
                match write_timeout {
                    None => io.write_all(&batch).await?,
                    Some(t) => tokio::time::timeout(t, io.write_all(&batch))
                        .await
                        .unwrap_or_else(|_| {
                            Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "write timed out",
                            ))
                        })?,
                }
                // Streams that buffer (TLS, WebSocket framing) send only on flush.
                crate::writer::flush_with_timeout(&mut io, write_timeout).await?;
            }
            outbox.state.lock().unwrap().writing = 0;
            outbox.room.notify_waiters();
            for ack in acks {
                let _ = ack.send(());
            }
            if closing && outbox.state.lock().unwrap().buf.is_empty() {
                return Ok(());
            }
            // Reuse this allocation for the next swap unless it grew large.
            if batch.capacity() <= 1 << 20 {
                spare = batch;
            }
        }
    }
    .await;
    outbox.mark_dead();
    let _ = io.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;

    fn put(bytes: Vec<u8>) -> impl FnOnce(&mut BytesMut) -> Result<(), ()> {
        move |b| {
            b.extend_from_slice(&bytes);
            Ok(())
        }
    }

    #[tokio::test]
    async fn frames_from_many_tasks_arrive_whole_and_close_flushes() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let outbox = Arc::new(Outbox::new(64));
        let writer = {
            let o = outbox.clone();
            tokio::spawn(async move { run_outbox_writer(a, &o, None, true).await })
        };
        let mut tasks = Vec::new();
        for i in 0..50u8 {
            let o = outbox.clone();
            tasks.push(tokio::spawn(async move {
                o.push(put(vec![i; 10]), None).await.unwrap().unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (ack_tx, ack_rx) = oneshot::channel();
        outbox
            .push(put(b"end".to_vec()), Some(ack_tx))
            .await
            .unwrap()
            .unwrap();
        ack_rx.await.unwrap();
        // An encoder error leaves nothing behind.
        assert_eq!(
            outbox
                .push(
                    |b| {
                        b.extend_from_slice(b"junk");
                        Err("no")
                    },
                    None
                )
                .await
                .unwrap(),
            Err("no")
        );
        outbox.close();
        writer.await.unwrap().unwrap();
        assert!(outbox.is_dead());
        assert_eq!(
            outbox.push(|_| Ok::<_, ()>(()), None).await,
            Err(OutboxClosed)
        );
        let mut out = Vec::new();
        b.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 503);
        for chunk in out[..500].chunks(10) {
            assert!(chunk.iter().all(|&x| x == chunk[0]), "frames interleaved");
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn the_batch_being_written_counts_against_the_budget() {
        // A pipe that takes 1 KiB and then blocks until read.
        let (a, mut b) = tokio::io::duplex(1024);
        let outbox = Arc::new(Outbox::new(4096));
        let writer = {
            let o = outbox.clone();
            tokio::spawn(async move { run_outbox_writer(a, &o, None, false).await })
        };
        let frame = vec![7u8; 1000];
        let pusher = {
            let o = outbox.clone();
            let frame = frame.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    let f = frame.clone();
                    o.push(
                        move |buf| {
                            buf.extend_from_slice(&f);
                            Ok::<_, ()>(())
                        },
                        None,
                    )
                    .await
                    .unwrap()
                    .unwrap();
                }
            })
        };
        // Wait until the writer is stuck and the pusher is waiting for room.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while outbox.queued_bytes() < 4096 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "outbox never filled"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(outbox.queued_bytes() <= 4096 + frame.len());
        assert!(!pusher.is_finished());
        // Reading the pipe lets everything through.
        let mut out = Vec::new();
        let reading = tokio::spawn(async move {
            b.read_to_end(&mut out).await.unwrap();
            out
        });
        tokio::time::timeout(Duration::from_secs(30), pusher)
            .await
            .unwrap()
            .unwrap();
        outbox.close();
        writer.await.unwrap().unwrap();
        assert_eq!(reading.await.unwrap().len(), 20 * 1000);
        assert_eq!(outbox.queued_bytes(), 0);
    }
}
