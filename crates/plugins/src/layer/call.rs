//! Client calls behind tower layers: [`CallService`] makes any [`Call`] a `tower::Service`
//! over encoded calls, and [`LayeredCall`] makes a layered stack a [`Call`] again, so typed
//! clients and `invoke` go through tower's timeout, concurrency limit, retry or load shedding,
//! and users' own layers, without glue.

use super::BoxError;
use bytes::Bytes;
use fastrpc_client::{Call, CallOptions, ClientError, ClientOptions, Reply};
use fastrpc_codec::{CodecError, Payload, Raw, SerializeType};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower_layer::Layer;
use tower_service::Service as TowerService;

/// One call as a layer sees it: names, the encoded arguments and the call's options (whose
/// `serialize_type` is always set, so the payload's encoding is known).
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// The service path.
    pub service: String,
    /// The method.
    pub method: String,
    /// The arguments, encoded as `opts.serialize_type`.
    pub payload: Bytes,
    /// Per-call options (timeout, metadata, serialize and compress types).
    pub opts: CallOptions,
}

/// What a layered call answers: the reply payload, undecoded, with its metadata.
pub type CallResponse = Reply<Bytes>;

type CallFuture = Pin<Box<dyn Future<Output = Result<CallResponse, BoxError>> + Send>>;

/// Any [`Call`] (a `Client`, an `XClient`, a wrapper) as a `tower::Service<CallRequest>`:
/// always ready, cheap to clone. Its errors are the call's own (`ClientError` for a client),
/// boxed; [`LayeredCallError::client_error`] gets them back.
pub struct CallService<C> {
    inner: Arc<C>,
}

impl<C> CallService<C> {
    /// `call` as a tower service.
    pub fn new(call: C) -> CallService<C> {
        CallService {
            inner: Arc::new(call),
        }
    }
}

impl<C> Clone for CallService<C> {
    fn clone(&self) -> Self {
        CallService {
            inner: self.inner.clone(),
        }
    }
}

impl<C> std::fmt::Debug for CallService<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallService").finish_non_exhaustive()
    }
}

impl<C: Call + 'static> TowerService<CallRequest> for CallService<C> {
    type Response = CallResponse;
    type Error = BoxError;
    type Future = CallFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: CallRequest) -> CallFuture {
        let inner = self.inner.clone();
        Box::pin(async move {
            let reply = inner
                .invoke::<Raw, Raw>(&req.service, &req.method, &Raw::from(req.payload), req.opts)
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            Ok(Reply {
                value: reply.value.into_bytes(),
                metadata: reply.metadata,
            })
        })
    }
}

/// Why a layered call failed: the call's own error (see [`LayeredCallError::client_error`]),
/// a layer's (tower's `Elapsed`, `Overloaded`, or yours), or the reply not decoding.
#[derive(Debug, thiserror::Error)]
pub enum LayeredCallError {
    /// The call or a layer failed.
    #[error("{0}")]
    Call(BoxError),
    /// The arguments could not be encoded or the reply decoded.
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
}

impl LayeredCallError {
    /// The client's error, when the call itself failed (not a layer).
    pub fn client_error(&self) -> Option<&ClientError> {
        match self {
            LayeredCallError::Call(e) => e.downcast_ref::<ClientError>(),
            LayeredCallError::Codec(_) => None,
        }
    }
}

/// A tower stack over [`CallRequest`]s used as a [`Call`]: arguments are encoded before the
/// layers and replies decoded after them, in the call's serialize type (the call's option,
/// else the payload type's preference, else this wrapper's default, MessagePack as a
/// `Client`'s unless changed with [`LayeredCall::serialize_type`]).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use fastrpc_client::{Call, CallOptions, Client};
/// use fastrpc_plugins::layer::{CallService, LayeredCall};
/// let client = Client::connect("127.0.0.1:8972").await?;
/// // At most 8 calls of this process in flight, whatever the callers do.
/// let limited = LayeredCall::new(
///     CallService::new(client),
///     tower::limit::ConcurrencyLimitLayer::new(8),
/// );
/// let n: i64 = limited
///     .invoke::<i64, i64>("Num", "Double", &21, CallOptions::default())
///     .await?
///     .value;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LayeredCall<S> {
    service: S,
    serialize_type: SerializeType,
}

impl<S> LayeredCall<S> {
    /// `layer` around `inner` (a [`CallService`], or a stack built on one).
    pub fn new<I, L>(inner: I, layer: L) -> LayeredCall<S>
    where
        L: Layer<I, Service = S>,
    {
        LayeredCall::from_service(layer.layer(inner))
    }

    /// A stack built already (with `tower::ServiceBuilder`, say).
    pub fn from_service(service: S) -> LayeredCall<S> {
        LayeredCall {
            service,
            serialize_type: ClientOptions::default().serialize_type,
        }
    }

    /// The serialize type used when neither the call nor the payload type chooses one.
    pub fn serialize_type(mut self, st: SerializeType) -> Self {
        self.serialize_type = st;
        self
    }
}

impl<S> std::fmt::Debug for LayeredCall<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayeredCall")
            .field("serialize_type", &self.serialize_type)
            .finish_non_exhaustive()
    }
}

impl<S> Call for LayeredCall<S>
where
    S: TowerService<CallRequest, Response = CallResponse> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
{
    type Error = LayeredCallError;

    fn invoke<A, R>(
        &self,
        service: &str,
        method: &str,
        args: &A,
        mut opts: CallOptions,
    ) -> impl Future<Output = Result<Reply<R>, LayeredCallError>> + Send
    where
        A: Payload + Sync,
        R: Payload,
    {
        let st = opts
            .serialize_type
            .or_else(A::preferred_serialize_type)
            .unwrap_or(self.serialize_type);
        opts.serialize_type = Some(st);
        let payload = args.to_bytes(st);
        let (service, method) = (service.to_owned(), method.to_owned());
        let mut svc = self.service.clone();
        async move {
            let req = CallRequest {
                service,
                method,
                payload: payload?,
                opts,
            };
            std::future::poll_fn(|cx| svc.poll_ready(cx))
                .await
                .map_err(|e| LayeredCallError::Call(e.into()))?;
            let reply = svc
                .call(req)
                .await
                .map_err(|e| LayeredCallError::Call(e.into()))?;
            Ok(Reply {
                value: R::decode(st, reply.value)?,
                metadata: reply.metadata,
            })
        }
    }
}
