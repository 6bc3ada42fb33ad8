//! The [`Client`] handle.

use crate::conn::{CLOSED_BY_USER, Shared};
use crate::error::remote_error;
use crate::push::PushReceiver;
use crate::{
    CallOptions, ClientError, ClientOptions, ClientStats, ErrorKind, RawPushReceiver, RemoteError,
};
use fastrpc_codec::Payload;
use fastrpc_core::{ByteStr, CompressType, Message, Metadata, ServerAddr, keys};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// A reply with the metadata the server sent along.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<R> {
    /// The decoded reply.
    pub value: R,
    /// Response metadata, plus `__ServerAddress` (added locally, as Go's client does): the
    /// server's `host:port` as the socket sees it (Go's `Conn.RemoteAddr().String()`), without
    /// a `network@` prefix.
    pub metadata: Metadata,
}

/// One multiplexed connection to an rpcx server. Cloning is cheap and shares the connection;
/// the connection closes when the last clone is dropped or [`Client::close`] is called.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    _owner: Arc<CloseOnDrop>,
    /// Set when the server refused the auth token and closed: later calls fail the same way
    /// instead of with a (retryable) closed connection.
    auth_refusal: Arc<OnceLock<RemoteError>>,
}

/// How long an unrecognised error reply to a call that carried `__AUTH` waits for the
/// server's close, which marks it as an auth refusal. A server that refuses a token writes the
/// reply and closes at once, so the close is normally already read when the reply is.
const AUTH_CLOSE_GRACE: Duration = Duration::from_millis(50);

struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.shutdown(CLOSED_BY_USER.into());
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.shared.peer)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Client {
    /// Connects with default options to `addr`: `host:port` or `network@addr` (see
    /// [`Client::connect_with`]).
    pub async fn connect(addr: &str) -> Result<Client, ClientError> {
        Client::connect_with(addr, ClientOptions::default()).await
    }

    /// Connects to `addr` with `opts`. `addr` is `host:port` (TCP) or a `network@addr` server
    /// key: `tcp@`, `tcp4@`, `tcp6@`, `unix@/path`, `memu@name`, and with their features
    /// `quic@`, `kcp@`, `ws@`, `wss@`, `http@`, or any network registered with
    /// [`fastrpc_transport::network::register_network`]. An unknown network, or one whose
    /// crate is not compiled in, is [`ClientError::Network`], which names the feature to
    /// enable.
    pub async fn connect_with(addr: &str, opts: ClientOptions) -> Result<Client, ClientError> {
        let server = ServerAddr::parse(addr)?;
        if !fastrpc_transport::tcp::is_tcp_network(&server.network) {
            return Client::connect_network(server, opts).await;
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &opts.tls {
            return Client::connect_tls(server, tls.clone(), opts).await;
        }
        let stream = fastrpc_transport::tcp::connect_network(
            &server.network,
            &server.address,
            opts.connect_timeout,
        )
        .await
        .map_err(|source| ClientError::Connect {
            addr: server.address.clone(),
            source,
        })?;
        // Go reports the socket's remote address (resolved, `ip:port`).
        let remote = stream
            .peer_addr()
            .map_or_else(|_| server.address.clone(), |a| a.to_string());
        let (r, w) = stream.into_split();
        let shared = Shared::start(r, w, server.to_string(), remote, opts);
        Ok(Client::from_shared(shared))
    }

    /// Dials TCP and runs TLS over it (Go's `Option.TLSConfig` on `tcp`). A failed handshake
    /// is [`ClientError::Connect`] whose source holds the
    /// [`TlsError`](fastrpc_transport::network::tls::TlsError).
    #[cfg(feature = "tls")]
    async fn connect_tls(
        server: ServerAddr,
        tls: fastrpc_transport::network::tls::ClientTls,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        use fastrpc_transport::network::tls;
        let connect_err = |source| ClientError::Connect {
            addr: server.address.clone(),
            source,
        };
        let connector = tls::TlsConnector::new(&tls).map_err(|e| connect_err(e.into()))?;
        let (stream, remote) = tls::dial_over_tcp(
            &server.network,
            &server.address,
            &connector,
            opts.connect_timeout,
        )
        .await
        .map_err(connect_err)?;
        let (r, w) = tokio::io::split(stream);
        let shared = Shared::start(r, w, server.to_string(), remote, opts);
        Ok(Client::from_shared(shared))
    }

    /// Dials a network other than TCP through the registry.
    async fn connect_network(
        server: ServerAddr,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        use fastrpc_transport::network::{self, NetworkError};
        let key = server.to_string();
        let dialed = match network::dial(&key, opts.connect_timeout).await {
            Ok(d) => d,
            Err(NetworkError::Io { source, .. }) => {
                return Err(ClientError::Connect { addr: key, source });
            }
            Err(e) => return Err(ClientError::Network(e)),
        };
        let (r, w) = tokio::io::split(dialed.stream);
        Ok(Client::from_shared(Shared::start(
            r,
            w,
            key,
            dialed.remote,
            opts,
        )))
    }

    /// Runs the rpcx protocol over an already established stream (any transport).
    pub fn from_io<T>(io: T, peer: impl Into<String>, opts: ClientOptions) -> Client
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (r, w) = tokio::io::split(io);
        Client::from_split(r, w, peer.into(), opts)
    }

    /// Runs the rpcx protocol over the two halves of a stream.
    pub fn from_split<R, W>(r: R, w: W, peer: impl Into<String>, opts: ClientOptions) -> Client
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let peer = peer.into();
        // Without a socket address, the address part of the server key stands in for it.
        let remote = ServerAddr::parse(&peer).map_or_else(|_| peer.clone(), |a| a.address);
        Client::from_shared(Shared::start(r, w, peer, remote, opts))
    }

    fn from_shared(shared: Arc<Shared>) -> Client {
        Client {
            _owner: Arc::new(CloseOnDrop(shared.clone())),
            shared,
            auth_refusal: Arc::default(),
        }
    }

    /// Calls `path.method` with `args` and decodes the reply.
    ///
    /// The call waits at most [`ClientOptions::default_timeout`] (30 s unless changed).
    pub async fn call<A: Payload, R: Payload>(
        &self,
        path: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
        args: &A,
    ) -> Result<R, ClientError> {
        let req = self.build_request(
            path.into(),
            method.into(),
            args,
            &CallOptions::default(),
            false,
        )?;
        self.send_request(req, None).await.map(|(value, _)| value)
    }

    /// Calls with per-call options and returns the reply with its metadata.
    pub async fn call_with<A: Payload, R: Payload>(
        &self,
        path: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
        args: &A,
        opts: CallOptions,
    ) -> Result<Reply<R>, ClientError> {
        let req = self.build_request(path.into(), method.into(), args, &opts, false)?;
        let (value, mut metadata) = self.send_request(req, opts.timeout).await?;
        metadata.insert(keys::SERVER_ADDRESS, self.shared.remote_addr.clone());
        Ok(Reply { value, metadata })
    }

    /// Sends a built request and decodes its reply or error reply.
    pub(crate) async fn send_request<R: Payload>(
        &self,
        req: Message,
        timeout: Option<Duration>,
    ) -> Result<(R, Metadata), ClientError> {
        let sent_auth = req.metadata.get(keys::AUTH).is_some();
        let timeout = timeout.or(self.shared.opts.default_timeout);
        let res = match self.shared.roundtrip(req, timeout).await {
            Ok(res) => res,
            Err(e) => return Err(self.after_auth_refusal(e)),
        };
        if res.header.is_error() {
            return Err(self.reply_error(res, sent_auth).await);
        }
        let value = R::decode(res.header.serialize_type(), res.payload)?;
        Ok((value, res.metadata))
    }

    /// The error an error reply stands for. A reply whose text rpcx does not produce itself,
    /// to a request that carried `__AUTH`, followed at once by the server closing the
    /// connection, is an auth refusal ([`ClientError::Unauthenticated`]); to tell, this waits
    /// briefly for that close. Every other error reply is [`ClientError::Remote`].
    pub async fn reply_error(&self, reply: Message, sent_auth: bool) -> ClientError {
        let err = remote_error(reply);
        if !sent_auth || err.kind() != ErrorKind::Remote {
            return ClientError::Remote(err);
        }
        let mut closed = self.shared.subscribe_closed();
        let closed_soon = tokio::time::timeout(AUTH_CLOSE_GRACE, closed.wait_for(|c| *c))
            .await
            .is_ok_and(|r| r.is_ok());
        if closed_soon && matches!(self.shared.closed_error(), ClientError::ConnectionClosed(_)) {
            let _ = self.auth_refusal.set(err.clone());
            return ClientError::Unauthenticated(err);
        }
        ClientError::Remote(err)
    }

    /// A closed connection that followed an auth refusal reports the refusal.
    fn after_auth_refusal(&self, e: ClientError) -> ClientError {
        match (&e, self.auth_refusal.get()) {
            (ClientError::ConnectionClosed(_), Some(refusal)) => {
                ClientError::Unauthenticated(refusal.clone())
            }
            _ => e,
        }
    }

    /// Sends a oneway call: the server runs it and sends nothing back. Returns once the
    /// request has been written.
    pub async fn oneway<A: Payload>(
        &self,
        path: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
        args: &A,
        opts: CallOptions,
    ) -> Result<(), ClientError> {
        let req = self.build_request(path.into(), method.into(), args, &opts, true)?;
        self.shared
            .send_oneway(req)
            .await
            .map_err(|e| self.after_auth_refusal(e))
    }

    /// Sends a message as it is (its seq is replaced) and returns the raw reply, or `None`
    /// for a oneway message. Error replies are returned as messages, not as errors.
    ///
    /// Nothing is added to the message: not the auth token of [`ClientOptions::auth_token`],
    /// not `__ServerTimeout` (`timeout` is only enforced locally; `None` means
    /// [`ClientOptions::default_timeout`]). Turn an error reply into an error with
    /// [`Client::reply_error`].
    pub async fn send_raw(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Option<Message>, ClientError> {
        let result = if msg.header.is_oneway() {
            self.shared.send_oneway(msg).await.map(|()| None)
        } else {
            let timeout = timeout.or(self.shared.opts.default_timeout);
            self.shared.roundtrip(msg, timeout).await.map(Some)
        };
        result.map_err(|e| self.after_auth_refusal(e))
    }

    /// The receiver of server pushes as raw messages, as Go delivers them: the last message,
    /// status Error with metadata `server`, says the connection ended. Returns `None` once
    /// this or [`Client::push_receiver`] was called.
    pub fn take_push_receiver(&self) -> Option<RawPushReceiver> {
        self.shared.push_rx.lock().unwrap().take()
    }

    /// The receiver of server pushes decoded as `T`; it ends (returns `None`) when the
    /// connection closes, with the reason in [`PushReceiver::close_reason`]. Returns `None`
    /// once this or [`Client::take_push_receiver`] was called.
    pub fn push_receiver<T: Payload>(&self) -> Option<PushReceiver<T>> {
        self.take_push_receiver().map(PushReceiver::new)
    }

    /// What this connection holds now, from its own byte accounting.
    pub fn stats(&self) -> ClientStats {
        self.shared.stats()
    }

    /// True once the connection is dead.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Resolves when the connection is dead.
    pub async fn closed(&self) {
        let mut rx = self.shared.subscribe_closed();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// A signal that turns `true` when the connection dies. Unlike [`Client::closed`], holding
    /// it does not keep the connection open.
    pub fn closed_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared.subscribe_closed()
    }

    /// The server key (`tcp@host:port`).
    pub fn peer(&self) -> &str {
        &self.shared.peer
    }

    /// The server's address as the connection sees it (`ip:port` for TCP), which is what
    /// replies carry as `__ServerAddress`.
    pub fn remote_addr(&self) -> &str {
        &self.shared.remote_addr
    }

    /// Closes the connection; pending calls fail with [`ClientError::Shutdown`].
    pub fn close(&self) {
        self.shared.shutdown(CLOSED_BY_USER.into());
    }

    fn build_request<A: Payload>(
        &self,
        path: ByteStr,
        method: ByteStr,
        args: &A,
        opts: &CallOptions,
        oneway: bool,
    ) -> Result<Message, ClientError> {
        // The call's deadline runs from here, before the arguments are encoded, as a Go
        // context's deadline runs from before `Call`.
        let started = std::time::Instant::now();
        let copts = &self.shared.opts;
        let st = opts
            .serialize_type
            .or_else(A::preferred_serialize_type)
            .unwrap_or(copts.serialize_type);
        let mut msg = Message::request(path, method);
        msg.header.set_serialize_type(st);
        msg.header.set_oneway(oneway);
        msg.payload = args.to_bytes(st)?;
        let ct = opts.compress_type.unwrap_or(copts.compress_type);
        if ct.applies_to(msg.payload.len()) {
            msg.header.set_compress_type(ct);
        }
        if !opts.metadata.is_empty() {
            msg.metadata = opts.metadata.clone();
        }
        if let Some(token) = &self.shared.auth {
            msg.metadata.insert(keys::AUTH, token.clone());
        }
        if let Some(t) = opts.timeout {
            // The time left when the request is built, in whole milliseconds (truncated, as
            // Go's `time.Until(deadline).Milliseconds()`: "499" for a 500 ms timeout).
            let left = t.saturating_sub(started.elapsed());
            msg.metadata
                .insert(keys::SERVER_TIMEOUT, left.as_millis().max(1).to_string());
        }
        check_frame_len(&msg, &copts.limits)?;
        Ok(msg)
    }
}

/// Refuses a request the server would refuse for its length (and answer by closing the
/// connection), assuming the server's limits are this client's. A compressed payload is
/// checked before compression against the decompressed limit, as the server checks it.
fn check_frame_len(msg: &Message, limits: &fastrpc_core::Limits) -> Result<(), ClientError> {
    let payload = msg.payload.len();
    let (len, max) = if msg.header.compress_type() == CompressType::NONE {
        let names = msg.service_path.len() + msg.service_method.len();
        (
            16 + names + msg.metadata.encoded_len() + payload,
            limits.max_frame_len,
        )
    } else {
        (payload, limits.max_decompressed_len)
    };
    if len > max {
        return Err(ClientError::FrameTooLarge { len, max });
    }
    Ok(())
}
