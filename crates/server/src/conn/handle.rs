//! The [`Connection`] handle: what a handler or plugin can do with a client's connection.

use crate::shared::Shared;
use bytes::{Bytes, BytesMut};
use fastrpc_core::{ByteStr, Message, Metadata, SerializeType};
use fastrpc_transport::{ByteBudget, Held, WriteQueue};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;

/// A client connected to the server. Cheap to clone; use it to push messages to the client.
#[derive(Clone)]
pub struct Connection {
    pub(super) inner: Arc<ConnInner>,
}

pub(super) struct ConnInner {
    pub(super) id: u64,
    pub(super) peer: String,
    pub(super) queue: Arc<WriteQueue>,
    pub(super) shared: Arc<Shared>,
    pub(super) closed: AtomicBool,
    /// Requests of this connection read and not yet answered.
    pub(super) in_flight: AtomicUsize,
    pub(super) idle: Notify,
    /// Reply bytes handed to the writer and not yet written.
    pub(super) queued: ByteBudget,
    /// Bytes of requests read whose replies are not yet written.
    pub(super) requests: ByteBudget,
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
        self.inner.closed.load(Ordering::Acquire) || self.inner.queue.is_closed()
    }

    /// Pushes a message to the client, as Go's `Server.SendMessage` does: a oneway request
    /// with serialize type none, raw `payload`, and a sequence number from the server-wide
    /// push counter (starting at 1). Go clients deliver it to their server-message channel.
    ///
    /// Pushes count against the connection's queued reply bytes: while the client does not
    /// read and the budget is reached, `push` waits.
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
        msg.header.seq = self.inner.shared.push_seq.fetch_add(1, Ordering::Relaxed);
        msg.metadata = metadata;
        msg.payload = payload;
        let plugins = &self.inner.shared.plugins;
        plugins.iter().for_each(|p| p.pre_write_request(self, &msg));
        let frame = msg.to_bytes().map_err(PushError::Encode)?;
        let ok = tokio::select! {
            _ = self.inner.queued.wait_for_room() => self.send_accounted(frame, 0),
            _ = self.inner.queue.closed() => false,
        };
        plugins
            .iter()
            .for_each(|p| p.post_write_request(self, &msg, ok));
        if ok { Ok(()) } else { Err(PushError::Closed) }
    }

    /// Asks the connection to close after what is already queued has been written.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.queue.close();
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Hands `frame` to the writer; its bytes, and the `request_bytes` of the requests it
    /// answers, stay counted until it is written. False when the writer is gone.
    pub(super) fn send_accounted(&self, frame: Bytes, request_bytes: usize) -> bool {
        let len = frame.len();
        self.inner.queued.force_acquire(len);
        self.inner.shared.budgets.queued.force_acquire(len);
        let held = Held::new(self.inner.clone(), len, request_bytes);
        // On failure the frame is dropped with `held`, which gives the bytes back.
        self.inner.queue.push(frame, Some(held))
    }

    /// Encodes a reply into `buf`; an encoding failure becomes an error reply.
    pub(super) fn encode_into(&self, msg: &Message, buf: &mut BytesMut) {
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
