//! [`LimitedCall`]: a client-side limit that fails fast.

use super::{Limiter, Rate};
use fastrpc_client::{Call, CallOptions, Payload, Reply};
use std::collections::HashMap;
use std::future::Future;

/// Why a call through [`LimitedCall`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimitedCallError<E> {
    /// The client's own bucket for this call was empty; nothing was sent.
    #[error("client rate limit reached for {service}.{method}")]
    RateLimited {
        /// The service called.
        service: String,
        /// The method called.
        method: String,
    },
    /// The call was sent and failed.
    #[error(transparent)]
    Call(E),
}

impl<E> LimitedCallError<E> {
    /// True when the client's limit refused the call before sending it.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, LimitedCallError::RateLimited { .. })
    }
}

/// Wraps anything that implements [`Call`] (a `Client`, an `XClient`, a typed client's
/// transport) so calls past a rate fail at once with
/// [`LimitedCallError::RateLimited`] instead of reaching the server.
///
/// Buckets for all calls, per service and per method; a call takes a token from each that
/// applies, most specific first.
#[derive(Debug, Clone)]
pub struct LimitedCall<C> {
    inner: C,
    global: Option<Limiter>,
    services: HashMap<String, Limiter>,
    methods: HashMap<String, HashMap<String, Limiter>>,
}

impl<C> LimitedCall<C> {
    /// `inner` with no limits yet.
    pub fn new(inner: C) -> LimitedCall<C> {
        LimitedCall {
            inner,
            global: None,
            services: HashMap::new(),
            methods: HashMap::new(),
        }
    }

    /// At most `rate` calls in all.
    pub fn global(mut self, rate: Rate) -> Self {
        self.global = Some(Limiter::new(rate));
        self
    }

    /// At most `rate` calls to `service`.
    pub fn service(mut self, service: &str, rate: Rate) -> Self {
        self.services.insert(service.to_owned(), Limiter::new(rate));
        self
    }

    /// At most `rate` calls to `service.method`.
    pub fn method(mut self, service: &str, method: &str, rate: Rate) -> Self {
        self.methods
            .entry(service.to_owned())
            .or_default()
            .insert(method.to_owned(), Limiter::new(rate));
        self
    }

    /// The wrapped caller.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    fn admits(&self, service: &str, method: &str) -> bool {
        let by_method = self.methods.get(service).and_then(|m| m.get(method));
        by_method.is_none_or(Limiter::try_acquire)
            && self.services.get(service).is_none_or(Limiter::try_acquire)
            && self.global.as_ref().is_none_or(Limiter::try_acquire)
    }
}

impl<C: Call> Call for LimitedCall<C> {
    type Error = LimitedCallError<C::Error>;

    fn invoke<A, R>(
        &self,
        service: &str,
        method: &str,
        args: &A,
        opts: CallOptions,
    ) -> impl Future<Output = Result<Reply<R>, Self::Error>> + Send
    where
        A: Payload + Sync,
        R: Payload,
    {
        let call = if self.admits(service, method) {
            Ok(self.inner.invoke(service, method, args, opts))
        } else {
            Err(LimitedCallError::RateLimited {
                service: service.to_owned(),
                method: method.to_owned(),
            })
        };
        async move { call?.await.map_err(LimitedCallError::Call) }
    }
}
