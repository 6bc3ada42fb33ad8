//! The connection machinery behind a [`Client`](crate::Client): the pending table, the byte
//! budgets, and the writer task; the reader and heartbeat tasks have files of their own.

use crate::budget::{ByteBudget, Charge};
use crate::push_queue::{QueuedPush, RawPushReceiver};
use crate::{ClientError, ClientOptions, ClientStats};
use fastrpc_core::{ByteStr, Message};
use fastrpc_transport::{Counted, FrameReader, IoCounters, Outbox, run_outbox_writer};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};

/// What a pending call is sent: its reply, with the bytes it holds in the reply budget.
pub(crate) type Waiter = oneshot::Sender<Result<(Message, Charge), ClientError>>;

/// Bytes charged to the pending budget for each call on top of its request frame: the pending
/// entry, the reply channel and the caller's waker, so that many tiny calls are bounded too.
pub(crate) const PENDING_OVERHEAD: usize = 256;

/// State shared by the client handles and the connection's tasks.
pub(crate) struct Shared {
    pub(crate) pending: Mutex<FxHashMap<u64, Waiter>>,
    closed: AtomicBool,
    close_reason: OnceLock<Arc<str>>,
    closed_tx: watch::Sender<bool>,
    seq: AtomicU64,
    outbox: Outbox,
    /// Request bytes (plus [`PENDING_OVERHEAD`]) of calls from their start until they return.
    in_flight: Arc<ByteBudget>,
    /// Bytes of replies read but not yet taken by their callers.
    pub(crate) replies: Arc<ByteBudget>,
    /// Bytes of server pushes queued for the push receiver.
    pub(crate) pushes: Arc<ByteBudget>,
    pub(crate) pushes_dropped: AtomicU64,
    /// Bytes and errors of the socket, for [`ClientStats`].
    pub(crate) io: Arc<IoCounters>,
    /// Calls sent, for [`ClientStats`].
    calls: AtomicU64,
    pub(crate) push_rx: Mutex<Option<RawPushReceiver>>,
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
        let (push_tx, push_rx) = mpsc::channel::<QueuedPush>(opts.push_capacity.max(1));
        let pushes = ByteBudget::new(opts.max_push_bytes);
        let (closed_tx, _) = watch::channel(false);
        let io = Arc::new(IoCounters::default());
        let (r, w) = (Counted::new(r, io.clone()), Counted::new(w, io.clone()));
        let shared = Arc::new(Shared {
            pending: Mutex::new(FxHashMap::default()),
            closed: AtomicBool::new(false),
            close_reason: OnceLock::new(),
            closed_tx,
            seq: AtomicU64::new(0),
            outbox: Outbox::new(opts.max_queued_bytes),
            in_flight: ByteBudget::new(opts.max_pending_bytes),
            replies: ByteBudget::new(opts.max_pending_bytes),
            pushes: pushes.clone(),
            pushes_dropped: AtomicU64::new(0),
            io,
            calls: AtomicU64::new(0),
            push_rx: Mutex::new(Some(RawPushReceiver::new(push_rx, pushes))),
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
        tokio::spawn(crate::read_loop::read_loop(shared.clone(), reader, push_tx));

        if let Some(hb) = shared.opts.heartbeat {
            tokio::spawn(crate::heartbeat::heartbeat_loop(
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

    /// What the connection holds now.
    pub(crate) fn stats(&self) -> ClientStats {
        ClientStats {
            pending_calls: self.pending.lock().unwrap().len(),
            pending_bytes: self.in_flight.used(),
            unclaimed_reply_bytes: self.replies.used(),
            queued_bytes: self.outbox.queued_bytes(),
            push_queued_bytes: self.pushes.used(),
            pushes_dropped: self.pushes_dropped.load(Ordering::Relaxed),
            bytes_read: IoCounters::get(&self.io.bytes_read),
            bytes_written: IoCounters::get(&self.io.bytes_written),
            calls: self.calls.load(Ordering::Relaxed),
            read_errors: IoCounters::get(&self.io.read_errors),
            write_errors: IoCounters::get(&self.io.write_errors),
        }
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

    /// Takes `bytes` of `budget`, waiting for room unless the connection dies meanwhile.
    pub(crate) async fn charge_or_closed(
        &self,
        budget: &Arc<ByteBudget>,
        bytes: usize,
    ) -> Result<Charge, ClientError> {
        if let Some(c) = budget.try_charge(bytes) {
            return Ok(c);
        }
        let mut closed = self.subscribe_closed();
        tokio::select! {
            c = budget.charge(bytes) => Ok(c),
            _ = closed.wait_for(|c| *c) => Err(self.closed_error()),
        }
    }

    /// Sends a request (its seq is set here) and waits for its reply; `timeout` bounds the
    /// whole call, the wait for room in the pending budget included.
    pub(crate) async fn roundtrip(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, ClientError> {
        match timeout {
            None => self.roundtrip_inner(msg).await,
            Some(t) => tokio::time::timeout(t, self.roundtrip_inner(msg))
                .await
                .unwrap_or(Err(ClientError::Timeout(t))),
        }
    }

    async fn roundtrip_inner(&self, mut msg: Message) -> Result<Message, ClientError> {
        // Compress outside the outbox lock; only the frame layout is written under it.
        let wire = msg.wire_payload()?;
        if self.is_closed() {
            return Err(self.closed_error());
        }
        // Held until this call returns (or is dropped): the request counts as in flight until
        // its reply has been taken. A heartbeat (a few dozen bytes) does not wait for room: it
        // checks the connection, which calls filling the budget must not make look dead.
        let bytes = frame_len(&msg, wire.len()) + PENDING_OVERHEAD;
        let _in_flight = if msg.header.is_heartbeat() {
            self.in_flight.charge_anyway(bytes)
        } else {
            self.charge_or_closed(&self.in_flight, bytes).await?
        };
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
        if !msg.header.is_heartbeat() {
            self.calls.fetch_add(1, Ordering::Relaxed);
        }
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
        let result = rx.await;
        guard.armed = false;
        match result {
            // The reply leaves the budget here, as it passes to the caller.
            Ok(Ok((reply, _held))) => Ok(reply),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(self.closed_error()),
        }
    }

    /// Sends a oneway request and returns once it was written.
    pub(crate) async fn send_oneway(&self, mut msg: Message) -> Result<(), ClientError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        let wire = msg.wire_payload()?;
        msg.header.seq = self.seq.fetch_add(1, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
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

/// The length of `msg`'s frame with a payload of `payload_len` bytes on the wire.
pub(crate) fn frame_len(msg: &Message, payload_len: usize) -> usize {
    // Header (12), total length, and the four length prefixes (4 bytes each).
    32 + msg.service_path.len()
        + msg.service_method.len()
        + msg.metadata.encoded_len()
        + payload_len
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
