//! The connection machinery behind a [`Client`](crate::Client): pending table, reader task,
//! writer task, heartbeat task.

use crate::{ClientError, ClientOptions};
use fastrpc_core::{ByteStr, Message, MessageStatusType, keys};
use fastrpc_transport::{FrameReader, Outbox, ReadError, run_outbox_writer};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};

type Waiter = oneshot::Sender<Result<Message, ClientError>>;

/// State shared by the client handles and the connection's tasks.
pub(crate) struct Shared {
    pending: Mutex<FxHashMap<u64, Waiter>>,
    closed: AtomicBool,
    close_reason: OnceLock<Arc<str>>,
    closed_tx: watch::Sender<bool>,
    seq: AtomicU64,
    outbox: Outbox,
    pub(crate) push_rx: Mutex<Option<mpsc::Receiver<Message>>>,
    pub(crate) opts: ClientOptions,
    pub(crate) auth: Option<ByteStr>,
    pub(crate) peer: ByteStr,
    /// `host:port` of the server, for `__ServerAddress`.
    pub(crate) remote_addr: ByteStr,
}

impl Shared {
    /// Starts the reader, writer and (if configured) heartbeat tasks on the split stream.
    pub(crate) fn start<R, W>(
        r: R,
        w: W,
        peer: String,
        remote_addr: String,
        opts: ClientOptions,
    ) -> Arc<Shared>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let (push_tx, push_rx) = mpsc::channel(opts.push_capacity.max(1));
        let (closed_tx, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            pending: Mutex::new(FxHashMap::default()),
            closed: AtomicBool::new(false),
            close_reason: OnceLock::new(),
            closed_tx,
            seq: AtomicU64::new(0),
            outbox: Outbox::new(opts.max_queued_bytes),
            push_rx: Mutex::new(Some(push_rx)),
            auth: opts.auth_token.clone().map(ByteStr::from),
            peer: ByteStr::from(peer),
            remote_addr: ByteStr::from(remote_addr),
            opts,
        });

        // The writer yields once before writing so that callers already awake add their
        // requests to the same write.
        let s = shared.clone();
        tokio::spawn(async move {
            let reason = match run_outbox_writer(w, &s.outbox, s.opts.write_timeout, true).await {
                Ok(()) => "connection closed".to_owned(),
                Err(e) => format!("write failed: {e}"),
            };
            s.shutdown(reason.into());
        });

        let reader = FrameReader::new(r, shared.opts.limits);
        tokio::spawn(read_loop(shared.clone(), reader, push_tx));

        if let Some(hb) = shared.opts.heartbeat {
            tokio::spawn(heartbeat_loop(
                Arc::downgrade(&shared),
                hb.interval,
                hb.max_wait,
            ));
        }
        shared
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn closed_error(&self) -> ClientError {
        match self.close_reason.get() {
            Some(r) if &**r == CLOSED_BY_USER => ClientError::Shutdown,
            Some(r) => ClientError::ConnectionClosed(r.clone()),
            None => ClientError::ConnectionClosed("connection closed".into()),
        }
    }

    pub(crate) fn subscribe_closed(&self) -> watch::Receiver<bool> {
        self.closed_tx.subscribe()
    }

    /// Marks the connection dead, fails every pending call and stops the writer. Idempotent.
    pub(crate) fn shutdown(&self, reason: Arc<str>) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.close_reason.set(reason);
        // Taking the lock after setting `closed` means no call can slip in afterwards: callers
        // check `closed` under the same lock before inserting.
        let drained: Vec<Waiter> = self
            .pending
            .lock()
            .unwrap()
            .drain()
            .map(|(_, w)| w)
            .collect();
        for w in drained {
            let _ = w.send(Err(self.closed_error()));
        }
        self.outbox.close();
        self.closed_tx.send_replace(true);
    }

    /// Sends a request (its seq is set here) and waits for its reply.
    pub(crate) async fn roundtrip(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, ClientError> {
        // Compress outside the outbox lock; only the frame layout is written under it.
        let wire = msg.wire_payload()?;
        let (tx, rx) = oneshot::channel();
        let seq = {
            let mut pending = self.pending.lock().unwrap();
            if self.is_closed() {
                return Err(self.closed_error());
            }
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            pending.insert(seq, tx);
            seq
        };
        msg.header.seq = seq;
        let mut guard = PendingGuard {
            shared: self,
            seq,
            armed: true,
        };
        match self
            .outbox
            .push(|buf| msg.encode_with_wire_payload(&wire, buf), None)
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(self.closed_error()),
        }
        let result = match timeout {
            None => rx.await,
            Some(t) => match tokio::time::timeout(t, rx).await {
                Ok(r) => r,
                Err(_) => return Err(ClientError::Timeout(t)),
            },
        };
        guard.armed = false;
        result.unwrap_or_else(|_| Err(self.closed_error()))
    }

    /// Sends a oneway request and returns once it was written.
    pub(crate) async fn send_oneway(&self, mut msg: Message) -> Result<(), ClientError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        let wire = msg.wire_payload()?;
        msg.header.seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let (ack_tx, ack_rx) = oneshot::channel();
        match self
            .outbox
            .push(|buf| msg.encode_with_wire_payload(&wire, buf), Some(ack_tx))
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(self.closed_error()),
        }
        ack_rx.await.map_err(|_| self.closed_error())
    }
}

/// Removes a pending entry when the caller gave up (timeout or dropped future).
struct PendingGuard<'a> {
    shared: &'a Shared,
    seq: u64,
    armed: bool,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.pending.lock().unwrap().remove(&self.seq);
        }
    }
}

pub(crate) const CLOSED_BY_USER: &str = "client closed";

async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    mut reader: FrameReader<R>,
    push_tx: mpsc::Sender<Message>,
) {
    let mut closed_rx = shared.subscribe_closed();
    let idle = shared.opts.idle_timeout;
    let reason: Arc<str> = loop {
        // Replies already buffered are taken without touching the close signal; it is watched
        // only while waiting for the socket.
        let next = match reader.try_next_buffered() {
            Ok(None) => tokio::select! {
                biased;
                _ = closed_rx.wait_for(|c| *c) => break shared.closed_error().to_string().into(),
                r = reader.next(idle) => r,
            },
            buffered => buffered,
        };
        match next {
            Ok(Some(msg)) => {
                if msg.is_server_push() {
                    if shared.opts.push_blocking {
                        let _ = push_tx.send(msg).await;
                    } else if push_tx.try_send(msg).is_err() {
                        tracing::debug!(peer = %shared.peer, "server push dropped: receiver full or gone");
                    }
                    continue;
                }
                let waiter = shared.pending.lock().unwrap().remove(&msg.header.seq);
                match waiter {
                    Some(w) => {
                        let _ = w.send(Ok(msg));
                    }
                    None => tracing::trace!(seq = msg.header.seq, "reply for no pending call"),
                }
            }
            Ok(None) => break "connection closed by server".into(),
            Err(ReadError::Protocol {
                error,
                header: Some(h),
            }) if !error.is_fatal() => {
                // The bad frame was consumed; fail only the call it answered.
                tracing::warn!(peer = %shared.peer, seq = h.seq, %error, "malformed reply");
                let waiter = shared.pending.lock().unwrap().remove(&h.seq);
                if let Some(w) = waiter {
                    let _ = w.send(Err(ClientError::Protocol(error)));
                }
            }
            Err(ReadError::Timeout) => break "idle timeout".into(),
            Err(e) => break e.to_string().into(),
        }
    };
    shared.shutdown(reason.clone());
    // Like Go, tell the push receiver that the connection is gone.
    let mut gone = Message::request("", "");
    gone.header.set_status(MessageStatusType::Error);
    gone.metadata.insert("server", shared.peer.clone());
    gone.metadata
        .insert(keys::SERVICE_ERROR, reason.to_string());
    let _ = push_tx.try_send(gone);
}

async fn heartbeat_loop(shared: Weak<Shared>, interval: Duration, max_wait: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.is_closed() {
            return;
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        if let Err(e) = shared
            .roundtrip(Message::heartbeat(0, nanos), Some(max_wait))
            .await
        {
            tracing::warn!(peer = %shared.peer, error = %e, "heartbeat failed; closing connection");
            shared.shutdown(format!("heartbeat failed: {e}").into());
            return;
        }
    }
}
