//! From a decoded message to its reply: plugins, heartbeats, the shutdown check, auth, the
//! concurrency cap, then the handler with its deadline, polled once inline.

use super::account::request_bytes;
use super::handle::Connection;
use super::reply::{Batch, Done, InFlight};
use crate::panic::{CatchPanic, panic_text};
use crate::shared::{Shared, State};
use crate::stats::Counters;
use crate::{Context, DEADLINE_EXCEEDED, HandlerResult, SHUTTING_DOWN, ServiceError};
use bytes::Bytes;
use fastrpc_core::{ByteStr, Header, Message, MessageType, Metadata, keys};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

/// Handles one decoded message; returns false when the connection must close.
pub(super) async fn handle_message(
    conn: &Connection,
    permits: &Arc<Semaphore>,
    msg: Message,
    batch: &mut Batch,
) -> bool {
    let (msg, sent_names) = match screen(conn, msg, batch) {
        Screened::Request(msg, sent_names) => (msg, sent_names),
        Screened::Answered => return true,
        Screened::Close => return false,
    };
    Counters::one(&conn.shared().counters.calls);
    // Count the request in flight *before* looking at the state: a shutdown that starts now
    // either sees this request and waits for it, or this request sees the shutdown. (Both
    // sides write, fence, then read.)
    let mut in_flight = InFlight::enter(conn, request_bytes(&msg));
    std::sync::atomic::fence(Ordering::SeqCst);
    if *conn.shared().state.borrow() != State::Running {
        drop(in_flight);
        if !msg.header.is_oneway() {
            batch.push(conn, &refusal(&msg, &sent_names, SHUTTING_DOWN));
        }
        return true;
    }
    if let Err(reason) = check_auth(conn.shared(), &msg) {
        tracing::debug!(peer = %conn.peer_addr(), %reason, "auth failed; closing connection");
        drop(in_flight);
        if !msg.header.is_oneway() {
            batch.push(conn, &refusal(&msg, &sent_names, reason));
        }
        return false;
    }
    let Some(permit) = take_permit(conn, permits, batch).await else {
        return false;
    };
    in_flight.permit = Some(permit);
    run_inline_or_spawn(conn, in_flight, msg, sent_names, batch);
    true
}

/// What the read-side checks made of a message.
enum Screened {
    /// A request to run, with the names the caller sent when a plugin rewrote them.
    Request(Message, Option<(ByteStr, ByteStr)>),
    /// Answered (or ignored) without running anything.
    Answered,
    /// A plugin closed the connection.
    Close,
}

/// Plugins' `post_read_request`, responses sent to the server, and heartbeats.
fn screen(conn: &Connection, mut msg: Message, batch: &mut Batch) -> Screened {
    let shared = conn.shared();
    let sent_names = if shared.rewriters.is_empty() {
        None
    } else {
        rewrite(conn, &mut msg)
    };
    match shared
        .plugins
        .iter()
        .try_for_each(|p| p.post_read_request(conn, Ok(&msg)))
    {
        Ok(()) => {}
        Err(crate::PluginError::RateLimited) => {
            if !msg.header.is_oneway() {
                batch.push(
                    conn,
                    &refusal(&msg, &sent_names, fastrpc_core::errors::REQ_REACH_LIMIT),
                );
            }
            return Screened::Answered;
        }
        Err(e) => {
            tracing::debug!(peer = %conn.peer_addr(), error = %e, "plugin closed the connection");
            return Screened::Close;
        }
    }
    if msg.header.is_response() {
        tracing::debug!(peer = %conn.peer_addr(), seq = msg.header.seq, "ignoring a response sent to the server");
        return Screened::Answered;
    }
    if msg.header.is_heartbeat() {
        shared
            .plugins
            .iter()
            .for_each(|p| p.heartbeat_request(conn, &msg));
        let mut echo = msg;
        echo.header.set_message_type(MessageType::Response);
        batch.push(conn, &echo);
        return Screened::Answered;
    }
    Screened::Request(msg, sent_names)
}

/// An error reply to a request refused before it ran, with the names the caller sent.
fn refusal(
    msg: &Message,
    sent_names: &Option<(ByteStr, ByteStr)>,
    text: impl Into<ByteStr>,
) -> Message {
    let mut reply = Message::error_reply(msg, text);
    if let Some((path, method)) = sent_names {
        reply.service_path = path.clone();
        reply.service_method = method.clone();
    }
    reply
}

/// Runs the plugins' `rewrite_request`; returns the names the caller sent when they changed.
fn rewrite(conn: &Connection, msg: &mut Message) -> Option<(ByteStr, ByteStr)> {
    let sent = (msg.service_path.clone(), msg.service_method.clone());
    for p in &conn.shared().rewriters {
        p.rewrite_request(conn, msg);
    }
    (sent.0 != msg.service_path || sent.1 != msg.service_method).then_some(sent)
}

/// The auth function's verdict on the request's `__AUTH` token (none set: accepted).
fn check_auth(shared: &Shared, msg: &Message) -> Result<(), String> {
    match &shared.auth {
        Some(auth) => auth(msg, msg.metadata.get(keys::AUTH).unwrap_or("")),
        None => Ok(()),
    }
}

/// A concurrency permit of the connection. At the cap: hands over the replies held (they free
/// permits), then waits, unless the connection goes away meanwhile (`None`).
async fn take_permit(
    conn: &Connection,
    permits: &Arc<Semaphore>,
    batch: &mut Batch,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(p) = permits.clone().try_acquire_owned() {
        return Some(p);
    }
    batch.flush(conn);
    tokio::select! {
        p = permits.clone().acquire_owned() => p.ok(),
        _ = conn.inner.queue.closed() => None,
    }
}

/// Most handlers finish without waiting: poll once here and skip the task spawn. A handler
/// that is not ready is spawned and polled again there, which registers its real waker.
fn run_inline_or_spawn(
    conn: &Connection,
    in_flight: InFlight,
    msg: Message,
    sent_names: Option<(ByteStr, ByteStr)>,
    batch: &mut Batch,
) {
    let mut fut = Box::pin(execute(in_flight, msg, sent_names));
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
                own.flush(&conn);
            });
        }
    }
}

/// Runs one request through the pipeline to its reply.
async fn execute(
    in_flight: InFlight,
    msg: Message,
    sent_names: Option<(ByteStr, ByteStr)>,
) -> Done {
    let conn = &in_flight.conn;
    let shared = conn.shared();
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
        sent_names,
    );

    // One span per call (free when no subscriber listens at debug level), closed by an event
    // with the outcome.
    let span = shared
        .tracers
        .iter()
        .find_map(|p| p.call_span(&ctx))
        .unwrap_or_else(|| {
            tracing::debug_span!(
                "rpc.server",
                service = ctx.service_path(),
                method = ctx.service_method(),
                peer = conn.peer_addr(),
                seq = header.seq,
            )
        });
    let result = run_handler(shared, &ctx, payload, deadline)
        .instrument(span.clone())
        .await;
    match &result {
        Ok(_) => tracing::debug!(parent: &span, outcome = "ok", "call finished"),
        Err(e) => {
            Counters::one(&shared.counters.handler_errors);
            tracing::debug!(parent: &span, outcome = "error", error = %e, "call finished")
        }
    }
    let post_call = || {
        shared
            .plugins
            .iter()
            .for_each(|p| p.post_call(&ctx, &result))
    };
    if shared.tracers.is_empty() {
        post_call();
    } else {
        span.in_scope(post_call);
    }
    drop(span);
    if header.is_oneway() {
        return Done {
            in_flight,
            reply: None,
        };
    }
    let reply = build_reply(shared, &ctx, header, result);
    Done {
        in_flight,
        reply: Some((ctx, reply)),
    }
}

/// The reply message for a handler's result, as Go builds it.
fn build_reply(shared: &Shared, ctx: &Context, header: Header, result: HandlerResult) -> Message {
    let (service_path, service_method) = ctx.reply_names();
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
    shared
        .plugins
        .iter()
        .for_each(|p| p.pre_write_response(ctx, &reply));
    reply
}

async fn run_handler(
    shared: &Shared,
    ctx: &Context,
    payload: Bytes,
    deadline: Option<Instant>,
) -> HandlerResult {
    for p in &shared.plugins {
        p.pre_handle_request(ctx)?;
    }
    let path = ctx.service_path();
    let method = ctx.service_method();
    let Some(methods) = shared.services.get(path) else {
        return Err(ServiceError::new(fastrpc_core::errors::cant_find_service(
            path,
        )));
    };
    let Some(handler) = methods.get(method) else {
        return Err(ServiceError::new(fastrpc_core::errors::cant_find_method(
            method,
        )));
    };
    for p in &shared.plugins {
        p.pre_call(ctx, &payload)?;
    }
    let fut = CatchPanic::new(handler.call(ctx.clone(), payload));
    let outcome = match deadline {
        None => fut.await,
        Some(d) => match tokio::time::timeout_at(d, fut).await {
            Ok(r) => r,
            Err(_) => return Err(ServiceError::new(DEADLINE_EXCEEDED)),
        },
    };
    outcome.unwrap_or_else(|panic| {
        let text = panic_text(&*panic);
        if let Some(left_out) = shared.panic_log.allow() {
            tracing::error!(service = path, method, panic = %text, left_out, "service panicked");
        }
        Err(ServiceError::new(format!(
            "[service internal error]: {text}, method: {method}"
        )))
    })
}
