//! [`ServerMetrics`]: a server plugin recording calls, errors, latency, connections and bytes.

use super::handles::{HandleCache, MethodHandles, Names};
use super::names::*;
use super::size::frame_len;
use fastrpc_core::{Message, ProtocolError};
use fastrpc_server::{Connection, Context, HandlerResult, PluginError, ServerPlugin, ServiceError};
use metrics::{Counter, counter, gauge, histogram};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

const SHARDS: usize = 16;

/// Records server metrics through the `metrics` facade (install an exporter, such as
/// [`PrometheusExporter`](super::PrometheusExporter), to publish them).
///
/// Per service and method: requests, errors by kind (`service`, `unknown_service`,
/// `unknown_method`, `deadline_exceeded`, `panic`, `refused`), in-flight requests and a latency
/// histogram (from the lookup to the reply, handler included). Per server: open and accepted
/// connections, and frame bytes in and out, in total and per connection (a histogram observed
/// when a connection closes). Only registered service and method names become labels; any
/// other name is counted as `unknown`, so peers cannot grow the label set.
#[derive(Debug)]
pub struct ServerMetrics {
    handles: HandleCache,
    /// Start times and handles of running calls by (connection, seq), sharded to spread lock
    /// traffic; bounded by the requests in flight.
    started: [Mutex<HashMap<(u64, u64), Running>>; SHARDS],
    /// Bytes per open connection: (received, sent); bounded by the open connections.
    conns: Mutex<HashMap<u64, Arc<(AtomicU64, AtomicU64)>>>,
    totals: OnceLock<(Counter, Counter)>,
}

/// A call between `pre_call` and `post_call`.
#[derive(Debug)]
struct Running {
    start: Instant,
    handles: Arc<MethodHandles>,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        ServerMetrics {
            handles: HandleCache::new(Names {
                requests: SERVER_REQUESTS,
                errors: SERVER_ERRORS,
                in_flight: SERVER_IN_FLIGHT,
                duration: SERVER_DURATION,
            }),
            started: Default::default(),
            conns: Mutex::default(),
            totals: OnceLock::new(),
        }
    }
}

impl ServerMetrics {
    /// A plugin recording into the global `metrics` recorder (install the exporter before the
    /// first request: handles are taken from the recorder on first use and kept).
    pub fn new() -> ServerMetrics {
        ServerMetrics::default()
    }

    fn shard(&self, key: (u64, u64)) -> &Mutex<HashMap<(u64, u64), Running>> {
        &self.started[(key.0 ^ key.1) as usize % SHARDS]
    }

    fn conn_bytes(&self, id: u64) -> Option<Arc<(AtomicU64, AtomicU64)>> {
        self.conns.lock().unwrap().get(&id).cloned()
    }

    /// (received, sent) byte counters.
    fn totals(&self) -> &(Counter, Counter) {
        self.totals
            .get_or_init(|| (counter!(SERVER_BYTES_RECEIVED), counter!(SERVER_BYTES_SENT)))
    }
}
fn key(ctx: &Context) -> (u64, u64) {
    (ctx.connection().id(), ctx.seq())
}

/// The error kind label of a server-side failure.
fn error_kind(e: &ServiceError) -> &'static str {
    let text = e.message();
    if text.starts_with("rpcx: can't find service") {
        "unknown_service"
    } else if text.starts_with("rpcx: can't find method") {
        "unknown_method"
    } else if text == fastrpc_server::DEADLINE_EXCEEDED {
        "deadline_exceeded"
    } else if text.starts_with("[service internal error]") {
        "panic"
    } else {
        "service"
    }
}

impl ServerPlugin for ServerMetrics {
    fn post_conn_accept(&self, conn: &Connection) -> bool {
        gauge!(SERVER_CONNECTIONS_OPEN).increment(1.0);
        counter!(SERVER_CONNECTIONS_ACCEPTED).increment(1);
        self.conns
            .lock()
            .unwrap()
            .insert(conn.id(), Default::default());
        true
    }

    fn post_conn_close(&self, conn: &Connection) {
        gauge!(SERVER_CONNECTIONS_OPEN).decrement(1.0);
        if let Some(bytes) = self.conns.lock().unwrap().remove(&conn.id()) {
            histogram!(SERVER_CONNECTION_BYTES_RECEIVED)
                .record(bytes.0.load(Ordering::Relaxed) as f64);
            histogram!(SERVER_CONNECTION_BYTES_SENT).record(bytes.1.load(Ordering::Relaxed) as f64);
        }
    }

    fn post_read_request(
        &self,
        conn: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        if let Ok(msg) = msg {
            let n = frame_len(msg);
            self.totals().0.increment(n);
            if let Some(bytes) = self.conn_bytes(conn.id()) {
                bytes.0.fetch_add(n, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn pre_call(&self, ctx: &Context, _payload: &bytes::Bytes) -> Result<(), ServiceError> {
        // After the lookup: the names are registered ones.
        let handles = self.handles.get(ctx.service_path(), ctx.service_method());
        handles.in_flight.increment(1.0);
        let k = key(ctx);
        let running = Running {
            start: Instant::now(),
            handles,
        };
        self.shard(k).lock().unwrap().insert(k, running);
        Ok(())
    }

    fn post_call(&self, ctx: &Context, result: &HandlerResult) {
        let k = key(ctx);
        let running = self.shard(k).lock().unwrap().remove(&k);
        let handles = match &running {
            Some(r) => {
                r.handles.in_flight.decrement(1.0);
                r.handles.duration.record(r.start.elapsed().as_secs_f64());
                r.handles.clone()
            }
            None => self.handles.get(UNKNOWN, UNKNOWN),
        };
        handles.requests.increment(1);
        if let Err(e) = result {
            let kind = match error_kind(e) {
                "service" if running.is_none() => "refused",
                kind => kind,
            };
            handles.error(kind);
        }
    }

    fn pre_write_response(&self, ctx: &Context, reply: &Message) {
        let n = frame_len(reply);
        self.totals().1.increment(n);
        if let Some(bytes) = self.conn_bytes(ctx.connection().id()) {
            bytes.1.fetch_add(n, Ordering::Relaxed);
        }
    }
}
