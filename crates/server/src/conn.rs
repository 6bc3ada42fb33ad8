//! One server connection: the read loop, request dispatch, replies and server push.

use crate::server::{Inner, State};
use crate::{Context, DEADLINE_EXCEEDED, HandlerResult, SHUTTING_DOWN, ServiceError};
use bytes::{Bytes, BytesMut};
use fastrpc_core::{ByteStr, Message, MessageType, Metadata, SerializeType, keys};
use fastrpc_transport::{FrameReader, ReadError, WriteCmd, WriterOptions, run_writer};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tracing::Instrument;

/// A client connected to the server. Cheap to clone; use it to push messages to the client.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnInner>,
}

struct ConnInner {
    id: u64,
    peer: String,
    tx: mpsc::Sender<WriteCmd>,
    server: Arc<Inner>,
    closed: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

/// A server push could not be sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum PushError {
    /// The connection is closed.
    Closed,
    /// The message could not be encoded.
    Encode(fastrpc_core::ProtocolError),
    /// The value of [`Connection::push_typed`] could not be encoded.
    Codec(fastrpc_codec::CodecError),
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::Closed => f.write_str("connection is closed"),
            PushError::Encode(e) => write!(f, "cannot encode push: {e}"),
            PushError::Codec(e) => write!(f, "cannot encode push value: {e}"),
        }
    }
}

impl std::error::Error for PushError {}

impl Connection {
    /// The server-side id of the connection (unique per server).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The client's address.
    pub fn peer_addr(&self) -> &str {
        &self.inner.peer
    }

    /// True once the connection closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire) || self.inner.tx.is_closed()
    }

    /// Pushes a message to the client, as Go's `Server.SendMessage` does: a oneway request
    /// with serialize type none, raw `payload`, and a sequence number from the server-wide
    /// push counter (starting at 1). Go clients deliver it to their server-message channel.
    pub async fn push(
        &self,
        service_path: impl Into<ByteStr>,
        service_method: impl Into<ByteStr>,
        metadata: Metadata,
        payload: Bytes,
    ) -> Result<(), PushError> {
        let (path, method) = (service_path.into(), service_method.into());
        self.push_as(path, method, metadata, payload, SerializeType::NONE)
            .await
    }

    /// Pushes `value` encoded as `serialize_type`, which the header carries, so that a fastrpc
    /// client's `PushReceiver<T>` decodes it (a Go client gets the bytes, as from `push`).
    pub async fn push_typed<T: fastrpc_codec::Payload + Sync>(
        &self,
        service_path: impl Into<ByteStr>,
        service_method: impl Into<ByteStr>,
        metadata: Metadata,
        value: &T,
        serialize_type: SerializeType,
    ) -> Result<(), PushError> {
        let payload = value.to_bytes(serialize_type).map_err(PushError::Codec)?;
        let (path, method) = (service_path.into(), service_method.into());
        self.push_as(path, method, metadata, payload, serialize_type)
            .await
    }

    async fn push_as(
        &self,
        service_path: ByteStr,
        service_method: ByteStr,
        metadata: Metadata,
        payload: Bytes,
        serialize_type: SerializeType,
    ) -> Result<(), PushError> {
        if self.is_closed() {
            return Err(PushError::Closed);
        }
        let mut msg = Message::request(service_path, service_method);
        msg.header.set_oneway(true);
        msg.header.set_serialize_type(serialize_type);
        msg.header.seq = self.inner.server.push_seq.fetch_add(1, Ordering::Relaxed);
        msg.metadata = metadata;
        msg.payload = payload;
        let plugins = &self.inner.server.plugins;
        plugins.iter().for_each(|p| p.pre_write_request(self, &msg));
        let frame = msg.to_bytes().map_err(PushError::Encode)?;
        let ok = self.inner.tx.send(WriteCmd::Frame(frame)).await.is_ok();
        plugins
            .iter()
            .for_each(|p| p.post_write_request(self, &msg, ok));
        if ok { Ok(()) } else { Err(PushError::Closed) }
    }

    /// Asks the connection to close after what is already queued has been written.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        fastrpc_transport::request_close(&self.inner.tx);
    }

    async fn send(&self, frame: Bytes) {
        let _ = self.inner.tx.send(WriteCmd::Frame(frame)).await;
    }

    /// Encodes a reply into `buf`; an encoding failure becomes an error reply.
    fn encode_into(&self, msg: &Message, buf: &mut BytesMut) {
        let start = buf.len();
        if let Err(e) = msg.encode(buf) {
            buf.truncate(start);
            tracing::error!(peer = %self.inner.peer, error = %e, "cannot encode reply");
            let mut fallback = Message::error_reply(msg, e.to_string());
            fallback.header = msg.header;
            fallback
                .header
                .set_compress_type(fastrpc_core::CompressType::NONE);
            fallback
                .header
                .set_status(fastrpc_core::MessageStatusType::Error);
            if fallback.encode(buf).is_err() {
                buf.truncate(start);
            }
        }
    }
}

/// Replies waiting to be handed to the writer as one frame batch, with the in-flight guards
/// of their requests (released only after the hand-over, so a graceful shutdown waits for them).
#[derive(Default)]
struct Batch {
    buf: BytesMut,
    guards: Vec<InFlight>,
}

impl Batch {
    fn push(&mut self, conn: &Connection, msg: &Message) {
        if self.buf.capacity() == 0 {
            // `split` in `flush` leaves no capacity: start each batch with room for many replies.
            self.buf.reserve(16 * 1024);
        }
        conn.encode_into(msg, &mut self.buf);
    }

    /// Adds the reply of a finished request.
    fn finish(&mut self, conn: &Connection, done: Done) {
        if let Some((ctx, reply)) = done.reply {
            self.push(conn, &reply);
            let plugins = &done.in_flight.server.plugins;
            plugins
                .iter()
                .for_each(|p| p.post_write_response(&ctx, &reply));
        }
        self.guards.push(done.in_flight);
    }

    async fn flush(&mut self, conn: &Connection) {
        if !self.buf.is_empty() {
            conn.send(self.buf.split().freeze()).await;
        }
        self.guards.clear();
    }
}

/// Serves one connection until it ends.
pub(crate) async fn serve<R, W>(server: Arc<Inner>, r: R, w: W, peer: String)
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let opts = &server.opts;
    let (tx, rx) = mpsc::channel(opts.write_queue.max(1));
    let conn = Connection {
        inner: Arc::new(ConnInner {
            id: server.next_conn_id.fetch_add(1, Ordering::Relaxed),
            peer,
            tx,
            server: server.clone(),
            closed: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
        }),
    };
    if !server.plugins.iter().all(|p| p.post_conn_accept(&conn)) {
        return;
    }
    let wopts = WriterOptions {
        write_timeout: opts.write_timeout,
        ..WriterOptions::default()
    };
    let writer = tokio::spawn(run_writer(w, rx, wopts));
    server.conns.lock().unwrap().insert(conn.id(), conn.clone());
    tracing::debug!(peer = %conn.peer_addr(), id = conn.id(), "connection accepted");

    let mut reader = FrameReader::new(r, opts.limits);
    let permits = Arc::new(Semaphore::new(opts.max_concurrent_requests.max(1)));
    let mut state = server.state.subscribe();
    let mut batch = Batch::default();
    // Go's read timeout: a deadline for each next message, re-armed after every message.
    let mut msg_deadline = opts.read_timeout.map(|t| Instant::now() + t);
    loop {
        // Frames already buffered are handled without waiting; replies that are ready at once
        // gather in `batch`, which goes to the writer as one piece before the next wait.
        let next = match reader.try_next_buffered() {
            Ok(None) => {
                batch.flush(&conn).await;
                let idle_deadline = opts.idle_timeout.map(|t| Instant::now() + t);
                let deadline = match (msg_deadline, idle_deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                tokio::select! {
                    biased;
                    _ = state.wait_for(|s| *s == State::Stopped) => break,
                    // The writer stopped (write error or timeout): nothing more can be answered.
                    _ = conn.inner.tx.closed() => {
                        tracing::debug!(peer = %conn.peer_addr(), "writer stopped; closing connection");
                        break;
                    }
                    r = reader.next(None) => r,
                    _ = sleep_until_opt(deadline) => {
                        if msg_deadline.is_some_and(|d| d <= Instant::now()) {
                            tracing::debug!(peer = %conn.peer_addr(), "read timeout");
                            break;
                        }
                        let busy = conn.inner.in_flight.load(Ordering::Acquire) > 0 || reader.has_partial_frame();
                        if busy {
                            continue;
                        }
                        tracing::debug!(peer = %conn.peer_addr(), "idle timeout");
                        break;
                    }
                }
            }
            buffered => buffered,
        };
        msg_deadline = opts.read_timeout.map(|t| Instant::now() + t);
        let msg = match next {
            Ok(Some(msg)) => msg,
            Ok(None) => break,
            Err(ReadError::Protocol { error, header }) => {
                tracing::warn!(peer = %conn.peer_addr(), %error, "bad frame");
                let verdict = server
                    .plugins
                    .iter()
                    .try_for_each(|p| p.post_read_request(&conn, Err(&error)));
                match header {
                    // The frame was consumed: answer it with the error and keep serving.
                    Some(h) if !error.is_fatal() && verdict.is_ok() => {
                        if !h.is_oneway() && h.message_type() == MessageType::Request {
                            let req = Message {
                                header: h,
                                ..Message::default()
                            };
                            batch.push(&conn, &Message::error_reply(&req, error.to_string()));
                        }
                        continue;
                    }
                    _ => break,
                }
            }
            Err(e) => {
                tracing::debug!(peer = %conn.peer_addr(), error = %e, "connection read ended");
                break;
            }
        };
        if !handle_message(&server, &conn, &permits, msg, &mut batch).await {
            break;
        }
    }
    batch.flush(&conn).await;

    // Requests already read still get their replies (a bad frame or EOF after a good one
    // loses nothing), unless a hard shutdown stops everything.
    loop {
        let idle = conn.inner.idle.notified();
        if conn.inner.in_flight.load(Ordering::Acquire) == 0 {
            break;
        }
        tokio::select! {
            _ = idle => {}
            _ = state.wait_for(|s| *s == State::Stopped) => break,
        }
    }
    conn.close();
    server.conns.lock().unwrap().remove(&conn.id());
    server.plugins.iter().for_each(|p| p.post_conn_close(&conn));
    if let Ok(Err(e)) = writer.await {
        tracing::debug!(peer = %conn.peer_addr(), error = %e, "write failed");
    }
    tracing::debug!(peer = %conn.peer_addr(), id = conn.id(), "connection closed");
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Handles one decoded message; returns false when the connection must close.
async fn handle_message(
    server: &Arc<Inner>,
    conn: &Connection,
    permits: &Arc<Semaphore>,
    msg: Message,
    batch: &mut Batch,
) -> bool {
    match server
        .plugins
        .iter()
        .try_for_each(|p| p.post_read_request(conn, Ok(&msg)))
    {
        Ok(()) => {}
        Err(crate::PluginError::RateLimited) => {
            if !msg.header.is_oneway() {
                batch.push(
                    conn,
                    &Message::error_reply(&msg, fastrpc_core::errors::REQ_REACH_LIMIT),
                );
            }
            return true;
        }
        Err(e) => {
            tracing::info!(peer = %conn.peer_addr(), error = %e, "plugin closed the connection");
            return false;
        }
    }
    if msg.header.is_response() {
        tracing::debug!(peer = %conn.peer_addr(), seq = msg.header.seq, "ignoring a response sent to the server");
        return true;
    }
    if msg.header.is_heartbeat() {
        server
            .plugins
            .iter()
            .for_each(|p| p.heartbeat_request(conn, &msg));
        let mut echo = msg;
        echo.header.set_message_type(MessageType::Response);
        batch.push(conn, &echo);
        return true;
    }
    // Count the request in flight *before* looking at the state: a shutdown that starts now
    // either sees this request and waits for it, or this request sees the shutdown. (Both
    // sides write, fence, then read.)
    let mut in_flight = InFlight::enter(server, conn);
    std::sync::atomic::fence(Ordering::SeqCst);
    if *server.state.borrow() != State::Running {
        drop(in_flight);
        if !msg.header.is_oneway() {
            batch.push(conn, &Message::error_reply(&msg, SHUTTING_DOWN));
        }
        return true;
    }
    if let Some(auth) = &server.auth {
        let token = msg.metadata.get(keys::AUTH).unwrap_or("");
        if let Err(reason) = auth(&msg, token) {
            tracing::info!(peer = %conn.peer_addr(), %reason, "auth failed; closing connection");
            drop(in_flight);
            if !msg.header.is_oneway() {
                batch.push(conn, &Message::error_reply(&msg, reason));
            }
            return false;
        }
    }
    let permit = match permits.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            // At the cap: hand over the replies we hold (they free permits), then wait, unless
            // the connection goes away meanwhile (a hard shutdown closes its writer).
            batch.flush(conn).await;
            tokio::select! {
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return false,
                },
                _ = conn.inner.tx.closed() => return false,
            }
        }
    };
    in_flight._permit = Some(permit);
    // Most handlers finish without waiting: poll once here and skip the task spawn. A handler
    // that is not ready is spawned and polled again there, which registers its real waker.
    let mut fut = Box::pin(execute(in_flight, msg));
    match fut
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(done) => batch.finish(conn, done),
        std::task::Poll::Pending => {
            let conn = conn.clone();
            tokio::spawn(async move {
                let done = fut.await;
                let mut own = Batch::default();
                own.finish(&conn, done);
                own.flush(&conn).await;
            });
        }
    }
    true
}

/// Decrements the in-flight counters however the request ends.
struct InFlight {
    server: Arc<Inner>,
    conn: Connection,
    _permit: Option<OwnedSemaphorePermit>,
}

impl InFlight {
    fn enter(server: &Arc<Inner>, conn: &Connection) -> InFlight {
        server.in_flight.fetch_add(1, Ordering::SeqCst);
        conn.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight {
            server: server.clone(),
            conn: conn.clone(),
            _permit: None,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.conn.inner.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.conn.inner.idle.notify_waiters();
        }
        if self.server.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.server.drained.notify_waiters();
        }
    }
}

/// What running a request produced: the reply (none for oneway) and the in-flight guard,
/// which is released only once the reply has been handed to the writer.
struct Done {
    in_flight: InFlight,
    reply: Option<(Context, Message)>,
}

/// Runs one request through the pipeline to its reply.
async fn execute(in_flight: InFlight, msg: Message) -> Done {
    let (server, conn) = (&in_flight.server, &in_flight.conn);
    let Message {
        header,
        service_path,
        service_method,
        metadata,
        payload,
    } = msg;
    let deadline = metadata
        .get(keys::SERVER_TIMEOUT)
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let ctx = Context::new(
        header,
        service_path,
        service_method,
        metadata,
        deadline,
        conn.clone(),
    );

    // One span per call (free when no subscriber listens at debug level), closed by an event
    // with the outcome.
    let span = tracing::debug_span!(
        "rpc.server",
        service = ctx.service_path(),
        method = ctx.service_method(),
        peer = conn.peer_addr(),
        seq = header.seq,
    );
    let result = run_handler(server, &ctx, payload, deadline)
        .instrument(span.clone())
        .await;
    match &result {
        Ok(_) => tracing::debug!(parent: &span, outcome = "ok", "call finished"),
        Err(e) => tracing::debug!(parent: &span, outcome = "error", error = %e, "call finished"),
    }
    server
        .plugins
        .iter()
        .for_each(|p| p.post_call(&ctx, &result));
    if header.is_oneway() {
        return Done {
            in_flight,
            reply: None,
        };
    }

    let (service_path, service_method) = ctx.path_and_method();
    let mut reply = Message {
        header: header.reply_header(),
        service_path,
        service_method,
        metadata: Metadata::new(),
        payload: Bytes::new(),
    };
    match result {
        Ok(payload) => reply.payload = payload,
        Err(e) => {
            reply
                .header
                .set_status(fastrpc_core::MessageStatusType::Error);
            reply
                .metadata
                .insert(keys::SERVICE_ERROR, e.message().to_owned());
            reply.payload = e.payload(header.serialize_type());
        }
    }
    for (k, v) in ctx.take_response_metadata().iter() {
        reply.metadata.insert_if_absent(k.to_owned(), v.to_owned());
    }
    // Go compresses a reply only when the request was compressed and the reply is large.
    let req_ct = header.compress_type();
    if req_ct.applies_to(reply.payload.len()) {
        reply.header.set_compress_type(req_ct);
    }
    server
        .plugins
        .iter()
        .for_each(|p| p.pre_write_response(&ctx, &reply));
    Done {
        in_flight,
        reply: Some((ctx, reply)),
    }
}

async fn run_handler(
    server: &Inner,
    ctx: &Context,
    payload: Bytes,
    deadline: Option<Instant>,
) -> HandlerResult {
    for p in &server.plugins {
        p.pre_handle_request(ctx)?;
    }
    let path = ctx.service_path();
    let method = ctx.service_method();
    let Some(methods) = server.services.get(path) else {
        return Err(ServiceError::new(fastrpc_core::errors::cant_find_service(
            path,
        )));
    };
    let Some(handler) = methods.get(method) else {
        return Err(ServiceError::new(fastrpc_core::errors::cant_find_method(
            method,
        )));
    };
    for p in &server.plugins {
        p.pre_call(ctx, &payload)?;
    }
    let fut = AssertUnwindSafe(handler.call(ctx.clone(), payload)).catch_unwind();
    let outcome = match deadline {
        None => fut.await,
        Some(d) => match tokio::time::timeout_at(d, fut).await {
            Ok(r) => r,
            Err(_) => return Err(ServiceError::new(DEADLINE_EXCEEDED)),
        },
    };
    outcome.unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        tracing::error!(service = path, method, panic = %text, "service panicked");
        Err(ServiceError::new(format!(
            "[service internal error]: {text}, method: {method}"
        )))
    })
}
