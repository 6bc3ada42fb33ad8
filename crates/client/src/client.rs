//! The [`Client`] handle.

use crate::conn::{CLOSED_BY_USER, Shared};
use crate::{CallOptions, ClientError, ClientOptions, ClientStats, PushReceiver, ServiceError};
use fastrpc_codec::Payload;
use fastrpc_core::{ByteStr, Message, Metadata, ServerAddr, keys};
use std::sync::Arc;
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
}

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
    /// Connects with default options to `addr`: `host:port` or `tcp@host:port`.
    pub async fn connect(addr: &str) -> Result<Client, ClientError> {
        Client::connect_with(addr, ClientOptions::default()).await
    }

    /// Connects to `addr` with `opts`.
    pub async fn connect_with(addr: &str, opts: ClientOptions) -> Result<Client, ClientError> {
        let server = ServerAddr::parse(addr)?;
        if !fastrpc_transport::tcp::is_tcp_network(&server.network) {
            return Err(ClientError::UnsupportedNetwork(server.network));
        }
        let stream = fastrpc_transport::tcp::connect(&server.address, opts.connect_timeout)
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
        }
    }

    /// Calls `path.method` with `args` and decodes the reply.
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
        let res = self.shared.roundtrip(req, None).await?;
        decode_reply(res).map(|(v, _)| v)
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
        let res = self.shared.roundtrip(req, opts.timeout).await?;
        let (value, mut metadata) = decode_reply(res)?;
        metadata.insert(keys::SERVER_ADDRESS, self.shared.remote_addr.clone());
        Ok(Reply { value, metadata })
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
        self.shared.send_oneway(req).await
    }

    /// Sends a message as it is (its seq is replaced) and returns the raw reply, or `None`
    /// for a oneway message. Error replies are returned as messages, not as errors.
    ///
    /// Nothing is added to the message: not the auth token of [`ClientOptions::auth_token`],
    /// not `__ServerTimeout` (`timeout` is only enforced locally).
    pub async fn send_raw(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Option<Message>, ClientError> {
        if msg.header.is_oneway() {
            self.shared.send_oneway(msg).await.map(|()| None)
        } else {
            self.shared.roundtrip(msg, timeout).await.map(Some)
        }
    }

    /// The receiver of server pushes (and of a final message, status Error with metadata
    /// `server`, when the connection ends). Returns `None` after the first call.
    pub fn take_push_receiver(&self) -> Option<PushReceiver> {
        self.shared.push_rx.lock().unwrap().take()
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
            msg.metadata
                .insert(keys::SERVER_TIMEOUT, t.as_millis().max(1).to_string());
        }
        Ok(msg)
    }
}

fn decode_reply<R: Payload>(res: Message) -> Result<(R, Metadata), ClientError> {
    let st = res.header.serialize_type();
    if res.header.is_error() {
        return Err(ClientError::Service(ServiceError {
            message: res
                .metadata
                .get(keys::SERVICE_ERROR)
                .unwrap_or_default()
                .to_owned(),
            payload: res.payload,
            serialize_type: st,
            metadata: res.metadata,
        }));
    }
    let value = R::decode(st, res.payload)?;
    Ok((value, res.metadata))
}
