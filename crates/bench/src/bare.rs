//! The bare baseline: a minimal length-prefixed echo over tokio.
//!
//! It stands for what loopback TCP and the syscalls cost and nothing else: no serialization,
//! no service table, no per-request task. All callers share one connection; each side has one
//! reader task and one writer task, and the writer drains every queued frame into one buffer
//! before each write syscall. A frame is `u32` big-endian length, `u64` call id, payload; the
//! server sends each request frame back unchanged.

use anyhow::{Context as _, anyhow};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// Largest batch the writer gathers before it writes.
const MAX_BATCH: usize = 256 * 1024;
/// Largest frame either side accepts.
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Binds `addr` and echoes on every connection until the runtime stops. Returns the bound
/// address.
pub async fn serve(addr: &str) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let (reader, writer) = stream.into_split();
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_frames(writer, rx));
            tokio::spawn(async move {
                let _ = read_frames(reader, |frame| tx.send(frame).is_ok()).await;
            });
        }
    });
    Ok(local)
}

/// One multiplexed connection to a bare echo server. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Shared>,
}

struct Shared {
    tx: mpsc::UnboundedSender<Bytes>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Bytes>>>,
    next_id: AtomicU64,
}

impl Client {
    /// Connects to a bare echo server.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Shared {
            tx,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        });
        tokio::spawn(write_frames(writer, rx));
        let shared = Arc::clone(&inner);
        tokio::spawn(async move {
            let _ = read_frames(reader, |mut frame| {
                frame.advance(4);
                let id = frame.get_u64();
                let waiter = shared.pending.lock().expect("pending map").remove(&id);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(frame);
                }
                true
            })
            .await;
            // The connection is gone: fail every waiting call.
            shared.pending.lock().expect("pending map").clear();
        });
        Ok(Client { inner })
    }

    /// Sends `payload` and waits for the echo.
    pub async fn call(&self, payload: &[u8]) -> anyhow::Result<Bytes> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inner
            .pending
            .lock()
            .expect("pending map")
            .insert(id, tx);
        let mut frame = BytesMut::with_capacity(12 + payload.len());
        frame.put_u32((8 + payload.len()) as u32);
        frame.put_u64(id);
        frame.put_slice(payload);
        if self.inner.tx.send(frame.freeze()).is_err() {
            self.inner.pending.lock().expect("pending map").remove(&id);
            return Err(anyhow!("bare connection closed"));
        }
        rx.await.context("bare connection closed")
    }
}

/// Reads frames and hands each, length prefix included, to `on_frame` until the peer closes or
/// `on_frame` says stop. The frames are slices of one read buffer, not copies.
async fn read_frames<R, F>(mut reader: R, mut on_frame: F) -> anyhow::Result<()>
where
    R: AsyncRead + Unpin,
    F: FnMut(Bytes) -> bool,
{
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        while buf.len() >= 4 {
            let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if !(8..=MAX_FRAME).contains(&len) {
                return Err(anyhow!("bad frame length {len}"));
            }
            if buf.len() < 4 + len {
                buf.reserve(4 + len - buf.len());
                break;
            }
            let frame = buf.split_to(4 + len).freeze();
            if !on_frame(frame) {
                return Ok(());
            }
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        if reader.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

/// Drains the queue into one buffer per write syscall.
async fn write_frames<W>(mut writer: W, mut rx: mpsc::UnboundedReceiver<Bytes>)
where
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        buf.extend_from_slice(&first);
        while buf.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(frame) => buf.extend_from_slice(&frame),
                Err(_) => break,
            }
        }
        if writer.write_all(&buf).await.is_err() {
            return;
        }
        buf.clear();
    }
}
