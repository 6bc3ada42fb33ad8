//! [`Call`]: what a typed client calls through.

use crate::{CallOptions, Client, ClientError, Reply};
use fastrpc_codec::Payload;
use std::future::Future;
use std::sync::Arc;

/// Anything that can call a method of a named service: a [`Client`], an XClient, or a
/// wrapper of either. The clients `#[fastrpc::service]` generates are generic over it.
///
/// ```no_run
/// # async fn demo() -> Result<(), fastrpc_client::ClientError> {
/// use fastrpc_client::{Call, CallOptions, Client};
/// let client = Client::connect("tcp@127.0.0.1:8972").await?;
/// let reply = client
///     .invoke::<String, String>("Echo", "Echo", &"hi".to_owned(), CallOptions::default())
///     .await?;
/// println!("{}", reply.value);
/// # Ok(()) }
/// ```
pub trait Call: Send + Sync {
    /// Why a call failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Calls `service.method` with `args` and per-call options; returns the reply and its
    /// metadata.
    fn invoke<A, R>(
        &self,
        service: &str,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> impl Future<Output = Result<Reply<R>, Self::Error>> + Send
    where
        A: Payload + Sync,
        R: Payload;
}

impl Call for Client {
    type Error = ClientError;

    fn invoke<A, R>(
        &self,
        service: &str,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> impl Future<Output = Result<Reply<R>, ClientError>> + Send
    where
        A: Payload + Sync,
        R: Payload,
    {
        self.call_with(service.to_owned(), method.to_owned(), args, opts)
    }
}

impl<C: Call + ?Sized> Call for &C {
    type Error = C::Error;

    fn invoke<A, R>(
        &self,
        service: &str,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> impl Future<Output = Result<Reply<R>, C::Error>> + Send
    where
        A: Payload + Sync,
        R: Payload,
    {
        (**self).invoke(service, method, args, opts)
    }
}

impl<C: Call + ?Sized> Call for Arc<C> {
    type Error = C::Error;

    fn invoke<A, R>(
        &self,
        service: &str,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> impl Future<Output = Result<Reply<R>, C::Error>> + Send
    where
        A: Payload + Sync,
        R: Payload,
    {
        (**self).invoke(service, method, args, opts)
    }
}
