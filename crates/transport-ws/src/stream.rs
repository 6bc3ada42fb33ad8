//! [`WsStream`]: a WebSocket connection as the rpcx byte stream.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::config::WsConfig;
use crate::error::WsError;
use crate::frame::{Decoder, Event, Role, encode};
use crate::handshake;
use crate::io::BoxIo;
use crate::listener::Slot;

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 << 10;

/// One WebSocket connection carrying the rpcx byte stream: `AsyncRead + AsyncWrite + Send +
/// Unpin`, ready for `Server::serve_connection` and `Client::from_io`.
///
/// Reads return the payload bytes of text, binary and continuation frames in order, with no
/// regard for frame boundaries; pings are answered, a close frame reads as end of stream.
/// Writes go out as binary frames of at most [`WsConfig::max_frame_out`] bytes (masked from a
/// client), written through: a write returns once its frame is on the socket, flushed through
/// TLS, so callers need not call `flush`. Shutting down sends a close frame.
pub struct WsStream {
    io: BoxIo,
    role: Role,
    decoder: Decoder,
    /// Raw bytes from the socket not yet decoded.
    rbuf: BytesMut,
    /// The bytes needed before the next decode can make progress.
    want: usize,
    /// Decoded payload not yet read.
    payload: Bytes,
    /// Encoded frames not yet written.
    wbuf: BytesMut,
    max_frame_out: usize,
    read_done: bool,
    close_sent: bool,
    /// The writer's waker while a write, flush or shutdown waits for the socket. The reader
    /// then leaves queued frames to it: polling the socket for writing with the reader's
    /// context would take the writer's place as the one woken when the socket drains.
    writer_waiting: Option<Waker>,
    /// The reader queued a pong or close reply and is the one waiting to send it.
    reader_drains: bool,
    /// Bytes of the caller's write already framed into `wbuf`, reported once they reach the
    /// socket.
    accepted: Option<usize>,
    _slot: Option<Slot>,
}

impl std::fmt::Debug for WsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsStream")
            .field("role", &self.role)
            .finish()
    }
}

impl WsStream {
    pub(crate) fn new(
        io: BoxIo,
        role: Role,
        leftover: BytesMut,
        cfg: &WsConfig,
        slot: Option<Slot>,
    ) -> WsStream {
        WsStream {
            io,
            role,
            decoder: Decoder::new(role, cfg.max_message_size),
            rbuf: leftover,
            want: 0,
            payload: Bytes::new(),
            wbuf: BytesMut::new(),
            max_frame_out: cfg.max_frame_out.max(1),
            read_done: false,
            close_sent: false,
            writer_waiting: None,
            reader_drains: false,
            accepted: None,
            _slot: slot,
        }
    }

    /// Dials `ws://addr/_rpcx_` (`addr` is `host:port`), sending `Origin: http://addr` unless
    /// [`WsConfig::origin`] says otherwise.
    pub async fn connect(addr: &str, cfg: &WsConfig) -> Result<WsStream, WsError> {
        let origin = cfg
            .origin
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let dial = async {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let mut io: BoxIo = Box::new(tcp);
            let rest =
                handshake::connect(&mut io, addr, &cfg.path, &origin, cfg.max_head_bytes).await?;
            Ok::<_, WsError>(WsStream::new(io, Role::Client, rest, cfg, None))
        };
        tokio::time::timeout(cfg.handshake_timeout, dial)
            .await
            .map_err(|_| WsError::TimedOut)?
    }

    /// Dials `wss://addr/_rpcx_` over TLS, checking the server's certificate for `server_name`
    /// as `tls` says. Sends `Origin: https://addr` unless [`WsConfig::origin`] says otherwise.
    pub async fn connect_tls(
        addr: &str,
        server_name: &str,
        tls: Arc<ClientConfig>,
        cfg: &WsConfig,
    ) -> Result<WsStream, WsError> {
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|_| WsError::InvalidServerName(server_name.to_string()))?;
        let origin = cfg
            .origin
            .clone()
            .unwrap_or_else(|| format!("https://{addr}"));
        let dial = async {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let tls = tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await?;
            let mut io: BoxIo = Box::new(tls);
            let rest =
                handshake::connect(&mut io, addr, &cfg.path, &origin, cfg.max_head_bytes).await?;
            Ok::<_, WsError>(WsStream::new(io, Role::Client, rest, cfg, None))
        };
        tokio::time::timeout(cfg.handshake_timeout, dial)
            .await
            .map_err(|_| WsError::TimedOut)?
    }

    /// Writes out queued frames.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.wbuf.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.wbuf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wbuf.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Drains for a write, flush or shutdown, remembering the writer while it waits.
    fn poll_drain_writer(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = self.poll_drain(cx);
        self.writer_waiting = r.is_pending().then(|| cx.waker().clone());
        r
    }

    /// Flushes the stream under the frames (TLS keeps records until flushed).
    fn poll_flush_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        if r.is_pending() {
            self.writer_waiting = Some(cx.waker().clone());
        }
        r
    }

    /// Sends what the reader queued (pongs, a close reply): hands it to a waiting writer, or
    /// drains it with the reader's context when no writer waits.
    fn poll_drain_reader(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.reader_drains = false;
        if self.wbuf.is_empty() {
            return Ok(());
        }
        if let Some(w) = self.writer_waiting.take() {
            w.wake();
            return Ok(());
        }
        match self.poll_drain(cx) {
            Poll::Ready(r) => r,
            Poll::Pending => {
                self.reader_drains = true;
                Ok(())
            }
        }
    }

    /// Queues a control frame unless too much is queued already (a peer that pings without
    /// reading gets no more pongs; RFC 6455 lets a pong answer only the latest ping).
    fn queue_control(&mut self, ctl: Control, payload: &[u8]) {
        if self.wbuf.len() <= 2 * self.max_frame_out {
            encode(&mut self.wbuf, self.role, OpCode::Control(ctl), payload);
        }
    }

    /// Applies one frame; true when it queued a control frame to send.
    fn on_event(&mut self, event: Event) -> bool {
        match event {
            Event::Data(bytes) => {
                self.payload = bytes;
                false
            }
            Event::Ping(p) => {
                self.queue_control(Control::Pong, &p);
                true
            }
            Event::Pong => false,
            Event::Close(p) => {
                self.read_done = true;
                if self.close_sent {
                    return false;
                }
                self.close_sent = true;
                let code = if p.len() >= 2 { &p[..2] } else { &[] };
                self.queue_control(Control::Close, code);
                true
            }
        }
    }

    /// Reads more raw bytes; `Ok(false)` at end of stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let start = self.rbuf.len();
        let chunk = READ_CHUNK.max(self.want.saturating_sub(start)).min(1 << 20);
        self.rbuf.resize(start + chunk, 0);
        let mut rb = ReadBuf::new(&mut self.rbuf[start..]);
        let r = Pin::new(&mut self.io).poll_read(cx, &mut rb);
        let n = rb.filled().len();
        self.rbuf.truncate(start + n);
        ready!(r)?;
        Poll::Ready(Ok(n > 0))
    }
}

impl AsyncRead for WsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.reader_drains {
            this.poll_drain_reader(cx)?;
        }
        loop {
            if !this.payload.is_empty() {
                let n = this.payload.len().min(buf.remaining());
                buf.put_slice(&this.payload[..n]);
                this.payload.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            let mut want = 0;
            match this.decoder.next(&mut this.rbuf, &mut want) {
                Ok(Some(event)) => {
                    if this.on_event(event) {
                        // Send pongs and close replies without waiting for the next write.
                        this.poll_drain_reader(cx)?;
                    }
                    continue;
                }
                Ok(None) => this.want = want,
                Err(e) => return Poll::Ready(Err(e.into())),
            }
            if !ready!(this.poll_fill(cx))? {
                if this.decoder.mid_message(&this.rbuf) {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "websocket: the connection ended inside a frame",
                    )));
                }
                this.read_done = true;
            }
        }
    }
}

impl AsyncWrite for WsStream {
    /// Writes through: returns only once the frame holding these bytes has been handed to the
    /// socket and flushed (through TLS too), so a caller that never calls `flush` (fastrpc's
    /// writer does not) loses nothing. After `Pending`, call again with the same bytes, as
    /// `write_all` does: the frame is already queued.
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.accepted.is_none() {
            ready!(this.poll_drain_writer(cx))?;
            if this.close_sent {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            let n = buf.len().min(this.max_frame_out);
            encode(
                &mut this.wbuf,
                this.role,
                OpCode::Data(Data::Binary),
                &buf[..n],
            );
            this.accepted = Some(n);
        }
        ready!(this.poll_drain_writer(cx))?;
        ready!(this.poll_flush_io(cx))?;
        let n = this.accepted.take().unwrap_or(0);
        Poll::Ready(Ok(n.min(buf.len())))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain_writer(cx))?;
        self.poll_flush_io(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.close_sent {
            self.close_sent = true;
            // 1000: normal closure.
            self.queue_control(Control::Close, &1000u16.to_be_bytes());
        }
        ready!(self.poll_drain_writer(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
