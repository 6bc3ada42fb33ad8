//! The per-request [`Context`].

use crate::Connection;
use fastrpc_core::{ByteStr, CompressType, Header, Metadata, SerializeType, keys};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// What a handler knows about its request, and where it puts response metadata.
///
/// Cheap to clone. It carries the request metadata, the deadline from `__ServerTimeout`, the
/// connection (to push messages to the caller), and a response-metadata map merged into the
/// reply (it can never overwrite `__rpcx_error__`, as in Go).
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    header: Header,
    service_path: ByteStr,
    service_method: ByteStr,
    metadata: Metadata,
    deadline: Option<Instant>,
    conn: Connection,
    response_metadata: Mutex<Metadata>,
    /// The service path and method the caller sent, when a plugin rewrote them: the reply
    /// carries these.
    sent_names: Option<(ByteStr, ByteStr)>,
}

impl Context {
    pub(crate) fn new(
        header: Header,
        service_path: ByteStr,
        service_method: ByteStr,
        metadata: Metadata,
        deadline: Option<Instant>,
        conn: Connection,
        sent_names: Option<(ByteStr, ByteStr)>,
    ) -> Context {
        Context {
            inner: Arc::new(Inner {
                header,
                service_path,
                service_method,
                metadata,
                deadline,
                conn,
                response_metadata: Mutex::new(Metadata::new()),
                sent_names,
            }),
        }
    }

    /// The service name of the request.
    pub fn service_path(&self) -> &str {
        &self.inner.service_path
    }

    /// The method name of the request.
    pub fn service_method(&self) -> &str {
        &self.inner.service_method
    }

    /// The request metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// The `__AUTH` token of the request, if any.
    pub fn auth_token(&self) -> Option<&str> {
        self.inner.metadata.get(keys::AUTH)
    }

    /// The serialize type of the request (the reply uses the same).
    pub fn serialize_type(&self) -> SerializeType {
        self.inner.header.serialize_type()
    }

    /// The compress type the request arrived with.
    pub fn compress_type(&self) -> CompressType {
        self.inner.header.compress_type()
    }

    /// The request's sequence number.
    pub fn seq(&self) -> u64 {
        self.inner.header.seq
    }

    /// True for a oneway request (no reply will be sent).
    pub fn is_oneway(&self) -> bool {
        self.inner.header.is_oneway()
    }

    /// The deadline from `__ServerTimeout`; the server abandons the handler after it.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Option<std::time::Duration> {
        self.inner
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The connection the request came on; use it to push messages to the caller.
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The caller's address.
    pub fn peer_addr(&self) -> &str {
        self.inner.conn.peer_addr()
    }

    /// Adds a pair to the reply's metadata.
    pub fn set_response_metadata(&self, key: impl Into<String>, value: impl Into<String>) {
        self.inner
            .response_metadata
            .lock()
            .unwrap()
            .insert(key.into(), value.into());
    }

    /// The service path and method the caller sent, when a plugin rewrote the request
    /// (see [`ServerPlugin::rewrite_request`](crate::ServerPlugin::rewrite_request)); `None`
    /// when they are those of [`Context::service_path`] and [`Context::service_method`].
    pub fn sent_names(&self) -> Option<(&str, &str)> {
        self.inner.sent_names.as_ref().map(|(p, m)| (&**p, &**m))
    }

    /// The names the reply carries: those the caller sent.
    pub(crate) fn reply_names(&self) -> (ByteStr, ByteStr) {
        match &self.inner.sent_names {
            Some(names) => names.clone(),
            None => (
                self.inner.service_path.clone(),
                self.inner.service_method.clone(),
            ),
        }
    }

    pub(crate) fn take_response_metadata(&self) -> Metadata {
        let mut m = self.inner.response_metadata.lock().unwrap();
        if m.is_empty() {
            Metadata::new()
        } else {
            std::mem::take(&mut *m)
        }
    }
}
