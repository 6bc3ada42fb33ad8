//! Typed server pushes: [`PushReceiver`].

use fastrpc_codec::{CodecError, Payload};
use fastrpc_core::{Message, Metadata};
use std::marker::PhantomData;
use std::sync::Arc;

use crate::RawPushReceiver;

/// One server push, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Push<T> {
    /// The service path the server named (free text for a push).
    pub service_path: String,
    /// The method the server named.
    pub service_method: String,
    /// The push's metadata.
    pub metadata: Metadata,
    /// The decoded payload.
    pub value: T,
}

/// Server pushes decoded as `T`, from [`Client::push_receiver`](crate::Client::push_receiver).
///
/// [`recv`](Self::recv) returns `None` once the connection has closed; the reason is then in
/// [`close_reason`](Self::close_reason). A push that does not decode as `T` is returned as an
/// error and the receiver goes on. The payload is decoded with the serialize type of its
/// header; Go's `SendMessage` always writes "none", and then the receiver's
/// `serialize_type` (JSON unless [`with_serialize_type`](Self::with_serialize_type)) is used.
#[derive(Debug)]
pub struct PushReceiver<T> {
    rx: RawPushReceiver,
    close_reason: Option<Arc<str>>,
    untyped: fastrpc_core::SerializeType,
    _type: PhantomData<fn() -> T>,
}

impl<T: Payload> PushReceiver<T> {
    pub(crate) fn new(rx: RawPushReceiver) -> PushReceiver<T> {
        PushReceiver {
            rx,
            close_reason: None,
            untyped: fastrpc_core::SerializeType::JSON,
            _type: PhantomData,
        }
    }

    /// Decodes pushes whose header says serialize type "none" (as Go's server push does) as
    /// `st` instead of JSON.
    pub fn with_serialize_type(mut self, st: fastrpc_core::SerializeType) -> Self {
        self.untyped = st;
        self
    }

    /// The next push; `None` when the connection has closed.
    pub async fn recv(&mut self) -> Option<Result<Push<T>, CodecError>> {
        if self.close_reason.is_some() {
            return None;
        }
        match self.rx.recv().await {
            Some(msg) if is_end_of_connection(&msg) => {
                let reason = msg.error_text().unwrap_or("connection closed");
                self.close_reason = Some(reason.into());
                None
            }
            Some(msg) => Some(self.decode(msg)),
            None => {
                self.close_reason = Some("connection closed".into());
                None
            }
        }
    }

    /// Bytes of pushes queued and not yet received (they count against
    /// [`ClientOptions::max_push_bytes`](crate::ClientOptions::max_push_bytes)).
    pub fn queued_bytes(&self) -> usize {
        self.rx.queued_bytes()
    }

    /// Why the connection closed, once [`recv`](Self::recv) has returned `None`.
    pub fn close_reason(&self) -> Option<&str> {
        self.close_reason.as_deref()
    }

    fn decode(&self, msg: Message) -> Result<Push<T>, CodecError> {
        let st = match msg.header.serialize_type() {
            fastrpc_core::SerializeType::NONE if T::preferred_serialize_type().is_none() => {
                self.untyped
            }
            st => st,
        };
        Ok(Push {
            value: T::decode(st, msg.payload)?,
            service_path: msg.service_path.to_string(),
            service_method: msg.service_method.to_string(),
            metadata: msg.metadata,
        })
    }
}

/// The message the connection queues last, as Go's client does: status Error, metadata
/// `server` and `__rpcx_error__` (the reason). Real pushes are always oneway; it is not.
fn is_end_of_connection(msg: &Message) -> bool {
    !msg.header.is_oneway()
}
