//! Reading whole frames from a byte stream.
//!
//! The buffer grows as bytes arrive, never to a length a peer merely announced: it starts
//! empty (a silent connection holds no read buffer until it sends), grows from
//! [`MIN_READ`] by doubling towards the frame being received, with fallible allocation, and
//! is released when the connection goes idle (a read finds nothing to read). Bytes
//! held beyond the first [`MIN_READ`] are charged to an optional shared [`ByteBudget`] (the
//! server's budget for partial frames); at that budget the reader waits for room.

use crate::ByteBudget;
use bytes::BytesMut;
use fastrpc_core::{FrameDecoder, HEADER_LEN, Header, Limits, MAGIC, Message, ProtocolError};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// The first read buffer of a connection, and the part of every buffer not charged to the
/// partial-frame budget (so the first bytes of a connection never wait for room).
pub const MIN_READ: usize = 1024;
/// Reads of frames of unknown length (several small frames) grow the buffer up to this.
const MAX_READ: usize = 64 * 1024;
/// An empty buffer larger than this is given back when the connection goes idle.
const KEEP_IDLE: usize = 8 * 1024;
/// How long a buffer grown by a burst of large frames is kept once the peer goes quiet.
const IDLE_GRACE: Duration = Duration::from_millis(500);
/// A reader without a buffer reads its first bytes into this much stack space: a silent
/// connection holds no buffer, and a small request that arrives alone (the usual case for a
/// caller waiting on each call) is decoded from an allocation of exactly its size.
const PROBE: usize = 128;

/// Why [`FrameReader::next`] returned no message.
#[derive(Debug)]
pub enum ReadError {
    /// The stream failed.
    Io(std::io::Error),
    /// A frame arrived but could not be decoded.
    Protocol {
        /// What was wrong.
        error: ProtocolError,
        /// The header of the bad frame, when it had arrived: with it the receiver can answer
        /// the bad request with an error reply instead of dropping it.
        header: Option<Header>,
    },
    /// No whole frame arrived within the read timeout.
    Timeout,
}

impl ReadError {
    /// True when the stream is unusable (I/O failure, timeout, or a fatal protocol error).
    pub fn is_fatal(&self) -> bool {
        match self {
            ReadError::Protocol { error, .. } => error.is_fatal(),
            _ => true,
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "read failed: {e}"),
            ReadError::Protocol { error, .. } => write!(f, "{error}"),
            ReadError::Timeout => f.write_str("read timed out"),
        }
    }
}

/// Reads frames from `R` through a [`FrameDecoder`], growing one buffer as bytes arrive.
#[derive(Debug)]
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
    decoder: FrameDecoder,
    budget: Option<Arc<ByteBudget>>,
    /// Size of the allocation this reader made for `buf`; what beyond [`MIN_READ`] is
    /// charged to `budget`.
    alloc: usize,
    /// When the first byte of the frame being received arrived.
    partial_since: Option<Instant>,
    /// The last read filled all the room it had: more is probably waiting, so the buffer
    /// grows (up to 64 KiB for small frames) instead of being reused as it is.
    last_read_filled: bool,
    /// Bytes the last read brought: a large one means a busy peer, whose buffer is kept
    /// through short pauses instead of being given back and grown again.
    last_read: usize,
    /// Time allowed for a frame to complete once its first bytes arrived.
    frame_timeout: Option<Duration>,
}

impl<R> FrameReader<R> {
    /// True when part of a frame is buffered.
    pub fn has_partial_frame(&self) -> bool {
        !self.buf.is_empty()
    }

    /// When the first buffered byte of an incomplete frame arrived (`None` with nothing
    /// buffered): the start of that frame's completion time limit.
    pub fn partial_since(&self) -> Option<Instant> {
        self.partial_since
    }

    /// Restarts the frame completion clock of a partial frame: for a caller that stopped
    /// reading for reasons of its own (a budget), which must not count against the peer.
    pub fn restart_frame_clock(&mut self) {
        if self.partial_since.is_some() {
            self.partial_since = Some(Instant::now());
        }
    }

    /// Bytes of memory the read buffer holds now.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives the read buffer back when nothing is buffered and it has grown past what an idle
    /// connection keeps.
    fn release_idle_buffer(&mut self) {
        if self.buf.is_empty() && self.alloc > KEEP_IDLE {
            self.buf = BytesMut::new();
            self.set_alloc(0);
        }
    }

    /// Records a new allocation size, returning the difference in charge to the budget
    /// (growth is charged by the caller beforehand with [`ByteBudget::acquire`]).
    fn set_alloc(&mut self, alloc: usize) {
        let (old, new) = (
            self.alloc.saturating_sub(MIN_READ),
            alloc.saturating_sub(MIN_READ),
        );
        if let Some(b) = &self.budget {
            if new < old {
                b.release(old - new);
            } else {
                b.force_acquire(new - old);
            }
        }
        self.alloc = alloc;
    }
}

impl<R> Drop for FrameReader<R> {
    fn drop(&mut self) {
        self.set_alloc(0);
    }
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader enforcing `limits`. It allocates nothing until the first read.
    pub fn new(io: R, limits: Limits) -> FrameReader<R> {
        FrameReader {
            io,
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(limits),
            budget: None,
            alloc: 0,
            partial_since: None,
            last_read_filled: false,
            last_read: 0,
            frame_timeout: None,
        }
    }

    /// A reader that charges buffered bytes beyond [`MIN_READ`] to `budget`, waiting for room
    /// when it is full.
    pub fn with_budget(io: R, limits: Limits, budget: Arc<ByteBudget>) -> FrameReader<R> {
        let mut r = FrameReader::new(io, limits);
        r.budget = Some(budget);
        r
    }

    /// Bounds the time a frame may take to complete once its first bytes arrived (waiting
    /// for budget room included); past it, reading fails with [`ReadError::Timeout`].
    pub fn set_frame_timeout(&mut self, t: Option<Duration>) {
        self.frame_timeout = t;
    }

    /// The next message; `Ok(None)` at a clean end of stream.
    ///
    /// `timeout`, when set, bounds the wait for the whole frame (Go's read deadline, set
    /// before each message read).
    pub async fn next(&mut self, timeout: Option<Duration>) -> Result<Option<Message>, ReadError> {
        match timeout {
            None => self.next_inner().await,
            Some(t) => match tokio::time::timeout(t, self.next_inner()).await {
                Ok(r) => r,
                Err(_) => Err(ReadError::Timeout),
            },
        }
    }

    /// Returns a frame that is already buffered, without reading.
    pub fn try_next_buffered(&mut self) -> Result<Option<Message>, ReadError> {
        let header = self.peek_header();
        let before = self.buf.len();
        let r = self
            .decoder
            .decode(&mut self.buf)
            .map_err(|error| ReadError::Protocol { error, header });
        if self.buf.len() != before {
            // What is left arrived with the read that set the clock (no clock read per frame).
            if self.buf.is_empty() {
                self.partial_since = None;
            }
            if self.buf.capacity() == 0 {
                // The frame took the whole allocation with it: the message holds it now.
                self.buf = BytesMut::new();
                self.set_alloc(0);
            }
        }
        r
    }

    async fn next_inner(&mut self) -> Result<Option<Message>, ReadError> {
        loop {
            if let Some(m) = self.try_next_buffered()? {
                return Ok(Some(m));
            }
            let frame_deadline = self
                .partial_since
                .zip(self.frame_timeout)
                .map(|(t0, limit)| t0 + limit);
            let n = match frame_deadline {
                None => self.fill().await?,
                // Boxed: the timer is needed only inside a frame, and would otherwise make every
                // connection's task larger.
                Some(d) => match Box::pin(tokio::time::timeout_at(d, self.fill())).await {
                    Ok(r) => r?,
                    Err(_) => return Err(ReadError::Timeout),
                },
            };
            if n == 0 {
                let header = self.peek_header();
                return self
                    .decoder
                    .decode_eof(&mut self.buf)
                    .map_err(|error| ReadError::Protocol { error, header });
            }
            if self.partial_since.is_none() {
                self.partial_since = Some(Instant::now());
            }
        }
    }

    /// Reads once into the buffer, making room first.
    async fn fill(&mut self) -> Result<usize, ReadError> {
        if self.buf.is_empty() && self.alloc > KEEP_IDLE {
            // A grown buffer is kept while bytes keep coming: read at once if something is
            // there; if nothing is, the connection is idle and the buffer goes back.
            self.make_room().await?;
            let (io, buf) = (&mut self.io, &mut self.buf);
            let now = std::future::poll_fn(|cx| {
                let read = io.read_buf(buf);
                tokio::pin!(read);
                std::task::Poll::Ready(match read.poll(cx) {
                    std::task::Poll::Ready(r) => Some(r),
                    std::task::Poll::Pending => None,
                })
            })
            .await;
            if let Some(r) = now {
                let n = r.map_err(ReadError::Io)?;
                self.last_read = n;
                return Ok(n);
            }
            // Nothing to read. After a small read the peer is idle or light: the buffer goes
            // back. After a large one it is busy and only pausing: the buffer is kept (it is
            // charged to the budget all the same) and given back after the next small read.
            if self.last_read < self.alloc / 8 {
                self.release_idle_buffer();
            } else {
                // After a large one it is kept for a short grace only: a peer that stays
                // silent after a burst of large frames gives it back (a cancelled `read_buf`
                // has read nothing).
                let room = self.buf.capacity() - self.buf.len();
                match tokio::time::timeout(IDLE_GRACE, self.io.read_buf(&mut self.buf)).await {
                    Ok(r) => {
                        let n = r.map_err(ReadError::Io)?;
                        self.last_read_filled = n == room;
                        self.last_read = n;
                        return Ok(n);
                    }
                    Err(_) => self.release_idle_buffer(),
                }
            }
        }
        if self.buf.capacity() == 0 && self.alloc == 0 {
            let mut probe = [0u8; PROBE];
            let n = self.io.read(&mut probe).await.map_err(ReadError::Io)?;
            self.buf = BytesMut::from(&probe[..n]);
            self.last_read_filled = n == PROBE;
            self.last_read = n;
            return Ok(n);
        }
        self.make_room().await?;
        let room = self.buf.capacity() - self.buf.len();
        let n = self
            .io
            .read_buf(&mut self.buf)
            .await
            .map_err(ReadError::Io)?;
        self.last_read_filled = n == room;
        self.last_read = n;
        Ok(n)
    }

    /// Ensures room for the next read: reuses the allocation when the bytes already consumed
    /// free enough of it, else grows, by doubling, up to 64 KiB or towards the frame being
    /// received (its length once its prefix is here) but never past a frame larger than that,
    /// charging the budget first.
    async fn make_room(&mut self) -> Result<(), ReadError> {
        let len = self.buf.len();
        let spare = self.buf.capacity() - len;
        let need = self.decoder.frame_len(&self.buf);
        let wanted = match need {
            Some(n) if n > len => n - len,
            _ => MIN_READ,
        };
        let enough = wanted.min(MIN_READ);
        // Under load (reads fill the buffer) a small buffer grows; otherwise it is reused.
        let grow = self.last_read_filled && (self.alloc < MAX_READ || wanted > spare);
        if !grow {
            if spare >= enough && spare >= self.alloc / 2 {
                return Ok(());
            }
            // Shift what is left of a partial frame to the front of our own allocation, when
            // the frames before it are gone (cheap: it is small next to the buffer).
            if self.alloc > 0 && len <= self.alloc / 2 && self.buf.try_reclaim(self.alloc - len) {
                return Ok(());
            }
            if spare >= enough {
                return Ok(());
            }
        }
        let base = self.alloc.max(self.buf.capacity());
        let grown = match need {
            // Towards a large frame, never past it; a small one may share a buffer of up to
            // 64 KiB with the frames that follow it.
            Some(n) if n > len => (2 * base).max(len + MIN_READ).min(n.max(MAX_READ)),
            _ => (2 * base).clamp(MIN_READ, MAX_READ.max(len + MIN_READ)),
        };
        if let Some(b) = &self.budget {
            let more = grown.saturating_sub(MIN_READ);
            let held = self.alloc.saturating_sub(MIN_READ);
            if more > held {
                // Boxed: growing is rare next to reading, and the wait would otherwise make
                // every connection's task larger.
                Box::pin(b.acquire_beyond(more - held, held)).await;
                // Charged now; `set_alloc` below must not charge it again.
                self.alloc = grown.max(self.alloc);
            }
        }
        let mut v: Vec<u8> = Vec::new();
        if v.try_reserve_exact(grown).is_err() {
            let header = self.peek_header();
            return Err(ReadError::Protocol {
                error: ProtocolError::OutOfMemory { len: grown },
                header,
            });
        }
        v.extend_from_slice(&self.buf);
        // `Vec -> IntoIter -> Vec` is specialized to keep the allocation: no copy, and the
        // buffer is a plain unique vector, so it can be reclaimed in place once emptied.
        self.buf = BytesMut::from_iter(v);
        self.set_alloc(grown);
        Ok(())
    }

    fn peek_header(&self) -> Option<Header> {
        if self.buf.len() >= HEADER_LEN && self.buf[0] == MAGIC {
            let mut h = [0u8; HEADER_LEN];
            h.copy_from_slice(&self.buf[..HEADER_LEN]);
            Some(Header::from_bytes(&h))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn buffer_grows_as_bytes_arrive_and_is_charged() {
        let (mut tx, rx) = tokio::io::duplex(1 << 16);
        let budget = Arc::new(ByteBudget::new(64 << 20));
        let mut reader = FrameReader::with_budget(rx, Limits::default(), budget.clone());
        assert_eq!(reader.buffer_capacity(), 0, "nothing allocated before data");

        let mut msg = Message::request("Echo", "Echo");
        msg.payload = bytes::Bytes::from(vec![7u8; 3 << 20]);
        let mut wire = BytesMut::new();
        msg.encode(&mut wire).unwrap();
        let total = wire.len();
        // Announce the whole frame but send only its first 100 KiB.
        let (go_on, gate) = tokio::sync::oneshot::channel::<()>();
        let writer = tokio::spawn(async move {
            tx.write_all(&wire[..100 * 1024]).await.unwrap();
            gate.await.unwrap();
            tx.write_all(&wire[100 * 1024..]).await.unwrap();
            tx
        });
        let partial = tokio::time::timeout(Duration::from_millis(300), reader.next(None)).await;
        assert!(partial.is_err(), "the frame is not whole yet");
        assert!(reader.partial_since().is_some());
        assert!(
            reader.buffer_capacity() < 512 * 1024,
            "grown to {} for 100 KiB received of {total}",
            reader.buffer_capacity()
        );
        assert!(budget.used() > 0 && budget.used() < 512 * 1024);
        go_on.send(()).unwrap();
        let got = reader.next(None).await.unwrap().unwrap();
        assert_eq!(got.payload.len(), 3 << 20);
        assert!(reader.partial_since().is_none());
        drop(got);
        let _tx = writer.await.unwrap();
        drop(reader);
        assert_eq!(budget.used(), 0, "everything charged was given back");
    }

    #[tokio::test]
    async fn a_buffer_grown_by_a_large_frame_goes_back_when_the_peer_goes_quiet() {
        let (mut tx, rx) = tokio::io::duplex(1 << 16);
        let budget = Arc::new(ByteBudget::new(64 << 20));
        let mut reader = FrameReader::with_budget(rx, Limits::default(), budget.clone());
        let mut msg = Message::request("Echo", "Echo");
        msg.payload = bytes::Bytes::from(vec![7u8; 1 << 20]);
        let mut wire = BytesMut::new();
        msg.encode(&mut wire).unwrap();
        let writer = tokio::spawn(async move {
            tx.write_all(&wire).await.unwrap();
            tx
        });
        let got = reader.next(None).await.unwrap().unwrap();
        assert_eq!(got.payload.len(), 1 << 20);
        drop(got);
        let _tx = writer.await.unwrap();
        // The peer is now silent (the stream stays open): the next read waits past the grace,
        // then the grown buffer is given back and its charge released.
        let waiting = tokio::time::timeout(IDLE_GRACE * 4, reader.next(None)).await;
        assert!(waiting.is_err(), "nothing was sent");
        assert!(
            reader.buffer_capacity() <= KEEP_IDLE,
            "kept {} bytes while idle",
            reader.buffer_capacity()
        );
        assert_eq!(
            budget.used(),
            0,
            "the charge of the grown buffer was released"
        );
    }

    #[tokio::test]
    async fn many_small_frames_in_one_read() {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let mut wire = BytesMut::new();
        for i in 0..500u64 {
            let mut m = Message::request("A", "B");
            m.header.seq = i;
            m.encode(&mut wire).unwrap();
        }
        tx.write_all(&wire).await.unwrap();
        drop(tx);
        let mut reader = FrameReader::new(rx, Limits::default());
        for i in 0..500u64 {
            assert_eq!(reader.next(None).await.unwrap().unwrap().header.seq, i);
        }
        assert!(reader.next(None).await.unwrap().is_none());
    }
}
