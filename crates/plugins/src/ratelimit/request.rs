//! [`RequestRateLimit`]: rpcx's `ReqRateLimitingPlugin`, plus per service and method buckets.

use super::{Limiter, Rate};
use fastrpc_core::{Message, MessageType, ProtocolError};
use fastrpc_server::{Connection, PluginError, ServerPlugin};
use std::collections::HashMap;

/// Answers requests past a rate with rpcx's `request reached rate limit` and keeps the
/// connection open (Go's `ErrReqReachLimit`).
///
/// Buckets can be set for the whole server, per service and per `service.method`; a request
/// takes a token from each bucket that applies, most specific first, and is refused by the
/// first empty one. Heartbeats and responses are not counted. The buckets are fixed at
/// construction, so a peer cannot grow this table by naming new services.
///
/// To make requests wait for a token instead of failing, wrap the service in
/// [`WaitRateLimit`](super::WaitRateLimit).
#[derive(Debug, Clone, Default)]
pub struct RequestRateLimit {
    global: Option<Limiter>,
    services: HashMap<String, Limiter>,
    methods: HashMap<String, HashMap<String, Limiter>>,
}

impl RequestRateLimit {
    /// No limits yet; add them with the builder methods.
    pub fn new() -> RequestRateLimit {
        RequestRateLimit::default()
    }

    /// At most `rate` requests on the whole server (across connections).
    pub fn global(mut self, rate: Rate) -> Self {
        self.global = Some(Limiter::new(rate));
        self
    }

    /// At most `rate` requests to `service`.
    pub fn service(mut self, service: &str, rate: Rate) -> Self {
        self.services.insert(service.to_owned(), Limiter::new(rate));
        self
    }

    /// At most `rate` requests to `service.method`.
    pub fn method(mut self, service: &str, method: &str, rate: Rate) -> Self {
        self.methods
            .entry(service.to_owned())
            .or_default()
            .insert(method.to_owned(), Limiter::new(rate));
        self
    }

    fn admits(&self, msg: &Message) -> bool {
        let path: &str = &msg.service_path;
        let method: &str = &msg.service_method;
        if let Some(l) = self.methods.get(path).and_then(|m| m.get(method)) {
            if !l.try_acquire() {
                return false;
            }
        }
        if let Some(l) = self.services.get(path) {
            if !l.try_acquire() {
                return false;
            }
        }
        self.global.as_ref().is_none_or(Limiter::try_acquire)
    }
}

impl ServerPlugin for RequestRateLimit {
    fn post_read_request(
        &self,
        conn: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        let Ok(msg) = msg else { return Ok(()) };
        let header = &msg.header;
        if header.message_type() != MessageType::Request || header.is_heartbeat() {
            return Ok(());
        }
        if self.admits(msg) {
            Ok(())
        } else {
            tracing::trace!(peer = conn.peer_addr(), "request rate limit reached");
            Err(PluginError::RateLimited)
        }
    }
}
