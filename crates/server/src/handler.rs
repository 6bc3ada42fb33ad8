//! Handlers: type-erased service methods.

use crate::{Context, ServiceError};
use bytes::Bytes;
use fastrpc_codec::Payload;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a handler produces: the encoded reply payload, or an error.
pub type HandlerResult = Result<Bytes, ServiceError>;

/// A service method with its argument decoding and reply encoding erased.
pub trait Handler: Send + Sync + 'static {
    /// Runs the method on a request payload serialized as `ctx.serialize_type()`.
    fn call(&self, ctx: Context, payload: Bytes) -> BoxFuture<HandlerResult>;
}

/// A set of methods under one service name; implemented by `#[fastrpc::service]`.
pub trait Service: Send + Sync + 'static {
    /// The service name (rpcx's service path), such as `Arith`.
    fn service_name(&self) -> &str;
    /// The methods, by rpcx method name (`Mul`).
    fn methods(self: Arc<Self>) -> Vec<(String, Arc<dyn Handler>)>;
    /// What the [reflection service](crate::reflection) tells about this service: its
    /// methods' argument and reply types (and JSON Schemas with `#[service(schema)]`).
    /// `#[service]` implements it; `None` describes the methods by name only.
    fn describe(&self) -> Option<crate::reflection::ServiceInfo> {
        None
    }
}

/// Makes a handler from an async function of a [`Context`] and an argument.
///
/// The argument is decoded with the request's serialize type and the reply encoded with it.
/// A payload that does not decode becomes an error reply carrying the codec's text.
pub fn handler_fn<F, A, R, E, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(Context, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    A: Payload,
    R: Payload,
    E: Into<ServiceError> + 'static,
{
    Arc::new(FnHandler {
        f,
        _types: PhantomData,
    })
}

struct FnHandler<F, A, R, E> {
    f: F,
    _types: PhantomData<fn(A) -> (R, E)>,
}

impl<F, A, R, E, Fut> Handler for FnHandler<F, A, R, E>
where
    F: Fn(Context, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    A: Payload,
    R: Payload,
    E: Into<ServiceError> + 'static,
{
    fn call(&self, ctx: Context, payload: Bytes) -> BoxFuture<HandlerResult> {
        let st = ctx.serialize_type();
        let args = match A::decode(st, payload) {
            Ok(a) => a,
            Err(e) => return Box::pin(std::future::ready(Err(ServiceError::new(e.to_string())))),
        };
        let fut = (self.f)(ctx, args);
        Box::pin(async move {
            let reply = fut.await.map_err(Into::into)?;
            reply
                .to_bytes(st)
                .map_err(|e| ServiceError::new(e.to_string()))
        })
    }
}
