//! Reading whole frames from a byte stream.

use bytes::BytesMut;
use fastrpc_core::{FrameDecoder, HEADER_LEN, Header, Limits, MAGIC, Message, ProtocolError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

const READ_CHUNK: usize = 64 * 1024;

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

/// Reads frames from `R` through a [`FrameDecoder`], growing one buffer.
#[derive(Debug)]
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
    decoder: FrameDecoder,
}

impl<R> FrameReader<R> {
    /// True when part of a frame is buffered.
    pub fn has_partial_frame(&self) -> bool {
        !self.buf.is_empty()
    }
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader enforcing `limits`.
    pub fn new(io: R, limits: Limits) -> FrameReader<R> {
        FrameReader {
            io,
            buf: BytesMut::with_capacity(READ_CHUNK),
            decoder: FrameDecoder::new(limits),
        }
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
        self.decoder
            .decode(&mut self.buf)
            .map_err(|error| ReadError::Protocol { error, header })
    }

    async fn next_inner(&mut self) -> Result<Option<Message>, ReadError> {
        loop {
            if let Some(m) = self.try_next_buffered()? {
                return Ok(Some(m));
            }
            self.buf.reserve(READ_CHUNK);
            let n = self
                .io
                .read_buf(&mut self.buf)
                .await
                .map_err(ReadError::Io)?;
            if n == 0 {
                let header = self.peek_header();
                return self
                    .decoder
                    .decode_eof(&mut self.buf)
                    .map_err(|error| ReadError::Protocol { error, header });
            }
        }
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
