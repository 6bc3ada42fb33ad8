//! [`MeteredCall`]: client metrics around anything that implements `Call`.

use super::handles::{HandleCache, Names};
use super::names::*;
use fastrpc_client::{Call, CallOptions, ClientError, ErrorKind, Payload, Reply};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// How a client error is labelled in `fastrpc_client_errors_total{kind=..}`.
pub trait ErrorKindLabel {
    /// A short snake_case label.
    fn kind_label(&self) -> &'static str;
}

impl ErrorKindLabel for ClientError {
    fn kind_label(&self) -> &'static str {
        match self.kind() {
            ErrorKind::Remote => "remote",
            ErrorKind::UnknownService => "unknown_service",
            ErrorKind::UnknownMethod => "unknown_method",
            ErrorKind::BadArgument => "bad_argument",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::DeadlineExceeded => "deadline_exceeded",
            ErrorKind::ShuttingDown => "shutting_down",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::FrameTooLarge => "frame_too_large",
            ErrorKind::Transport => "transport",
            ErrorKind::Codec => "codec",
            ErrorKind::InvalidAddress => "invalid_address",
            _ => "other",
        }
    }
}

#[cfg(feature = "ratelimit")]
impl<E: ErrorKindLabel> ErrorKindLabel for crate::ratelimit::LimitedCallError<E> {
    fn kind_label(&self) -> &'static str {
        match self {
            crate::ratelimit::LimitedCallError::Call(e) => e.kind_label(),
            _ => "client_rate_limited",
        }
    }
}

/// Wraps a `Client`, an `XClient` or any other [`Call`] and records, per service and method,
/// calls, errors by kind, calls in flight and a latency histogram.
#[derive(Debug, Clone)]
pub struct MeteredCall<C> {
    inner: C,
    handles: Arc<HandleCache>,
}

impl<C> MeteredCall<C> {
    /// Records the calls made through `inner`.
    pub fn new(inner: C) -> MeteredCall<C> {
        MeteredCall {
            inner,
            handles: Arc::new(HandleCache::new(Names {
                requests: CLIENT_REQUESTS,
                errors: CLIENT_ERRORS,
                in_flight: CLIENT_IN_FLIGHT,
                duration: CLIENT_DURATION,
            })),
        }
    }

    /// The wrapped caller.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C> Call for MeteredCall<C>
where
    C: Call,
    C::Error: ErrorKindLabel,
{
    type Error = C::Error;

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
        let handles = self.handles.get(service, method);
        let call = self.inner.invoke(service, method, args, opts);
        async move {
            handles.in_flight.increment(1.0);
            let start = Instant::now();
            let result = call.await;
            handles.in_flight.decrement(1.0);
            handles.duration.record(start.elapsed().as_secs_f64());
            handles.requests.increment(1);
            if let Err(e) = &result {
                handles.error(e.kind_label());
            }
            result
        }
    }
}
