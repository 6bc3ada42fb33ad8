//! Helpers of the budget, shutdown and reaping tests: a raw connection that writes requests
//! from one task and reads whole frames from another, and polling for a condition.
#![allow(dead_code, unreachable_pub)]

use bytes::{Bytes, BytesMut};
use fastrpc::protocol::{FrameDecoder, Limits, Message, SerializeType};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Polls `cond` every 10 ms until it holds; panics with `what` after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A request frame for `service.method` with `payload` and sequence number `seq`.
pub fn request(service: &str, method: &str, seq: u64, payload: Bytes) -> Bytes {
    let mut m = Message::request(service.to_owned(), method.to_owned());
    m.header.seq = seq;
    m.header.set_serialize_type(SerializeType::NONE);
    m.payload = payload;
    m.to_bytes().unwrap()
}

/// Reads whole frames, with no limit on their size; at the end of the stream, says whether
/// it ended between frames.
pub struct FrameIn {
    half: OwnedReadHalf,
    buf: BytesMut,
    decoder: FrameDecoder,
}

impl FrameIn {
    pub fn new(half: OwnedReadHalf) -> FrameIn {
        let limits = Limits {
            max_frame_len: usize::MAX,
            max_decompressed_len: usize::MAX,
            ..Limits::default()
        };
        FrameIn {
            half,
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(limits),
        }
    }

    /// The next message; `Ok(None)` at a clean end between frames; `Err` for a frame cut
    /// short (or a read error).
    pub async fn next(&mut self) -> Result<Option<Message>, String> {
        loop {
            if let Some(m) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| e.to_string())?
            {
                return Ok(Some(m));
            }
            self.buf.reserve(64 * 1024);
            match self.half.read_buf(&mut self.buf).await {
                Ok(0) => {
                    return self
                        .decoder
                        .decode_eof(&mut self.buf)
                        .map_err(|e| format!("stream ended inside a frame: {e}"));
                }
                Ok(_) => {}
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    }

    /// The next message within `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> Result<Option<Message>, String> {
        tokio::time::timeout(limit, self.next())
            .await
            .map_err(|_| "no frame in time".to_owned())?
    }
}

/// Opens a raw connection split into a writer and a frame reader.
pub async fn raw(addr: SocketAddr) -> (OwnedWriteHalf, FrameIn) {
    let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
    (w, FrameIn::new(r))
}

/// Writes `frames` on `w` from a task of its own (it blocks while the server does not read).
pub fn write_all_in_background(
    mut w: OwnedWriteHalf,
    frames: Vec<Bytes>,
) -> tokio::task::JoinHandle<OwnedWriteHalf> {
    tokio::spawn(async move {
        for f in frames {
            if w.write_all(&f).await.is_err() {
                break;
            }
        }
        w
    })
}
