//! What a call goes to: one server through a [`Client`], or a registry URL through an
//! [`XClient`], behind one `call`.

use crate::args::{FailModeArg, SelectModeArg, TargetArgs};
use crate::payload::serialize_type;
use anyhow::Context as _;
use fastrpc::{
    CallOptions, Client, ClientError, ClientOptions, CompressType, ErrorKind, FailMode, Metadata,
    Raw, RemoteError, SelectMode, XClient, XClientError, XClientOptions,
};
use std::time::Duration;

/// A connected target.
pub(crate) enum Target {
    /// One server.
    Single(Client),
    /// Servers found through a registry URL.
    Registry(XClient),
}

/// Why a call failed, sorted for the exit status.
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// The server answered with an error reply.
    Remote(RemoteError),
    /// The deadline passed.
    Timeout,
    /// Anything else (connection, no server, codec).
    Other(anyhow::Error),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Remote(e) => write!(f, "server error: {}", e.message),
            CallFailure::Timeout => f.write_str("call timed out"),
            CallFailure::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<ClientError> for CallFailure {
    fn from(e: ClientError) -> CallFailure {
        match e {
            // The server's own deadline ended the call (`context deadline exceeded`).
            ClientError::Remote(r) if r.kind() == ErrorKind::DeadlineExceeded => {
                CallFailure::Timeout
            }
            ClientError::Remote(r) | ClientError::Unauthenticated(r) => CallFailure::Remote(r),
            ClientError::Timeout(_) => CallFailure::Timeout,
            other => CallFailure::Other(other.into()),
        }
    }
}

impl From<XClientError> for CallFailure {
    fn from(e: XClientError) -> CallFailure {
        if e.is_timeout() {
            return CallFailure::Timeout;
        }
        if let Some(r) = e.as_service_error() {
            if r.kind() == ErrorKind::DeadlineExceeded {
                return CallFailure::Timeout;
            }
            return CallFailure::Remote(r.clone());
        }
        CallFailure::Other(e.into())
    }
}

/// A reply: payload bytes and metadata.
pub(crate) struct RawReply {
    /// The payload, as sent.
    pub(crate) payload: bytes::Bytes,
    /// Response metadata (with `__ServerAddress`).
    pub(crate) metadata: Metadata,
}

/// True when `target` names a registry (`scheme://...`) rather than one server.
pub(crate) fn is_registry_url(target: &str) -> bool {
    target.contains("://")
}

impl Target {
    /// Connects to the target named by `args` for `service`.
    pub(crate) async fn connect(args: &TargetArgs, service: &str) -> anyhow::Result<Target> {
        let mut copts = ClientOptions::default().default_timeout(Some(args.timeout));
        if let Some(token) = &args.auth {
            copts = copts.auth(token.clone());
        }
        if !is_registry_url(&args.target) {
            let client = Client::connect_with(&args.target, copts)
                .await
                .with_context(|| format!("connecting to {}", args.target))?;
            return Ok(Target::Single(client));
        }
        let discovery = fastrpc::discovery::from_url(&args.target, service)
            .await
            .with_context(|| format!("opening registry {}", args.target))?;
        let mut xopts = XClientOptions::default()
            .default_timeout(args.timeout)
            .client_options(copts);
        if let Some(g) = &args.group {
            xopts = xopts.group(g.clone());
        }
        let xc = XClient::new(
            service,
            fail_mode(args.fail_mode),
            select_mode(args.select_mode),
            discovery,
            xopts,
        )?;
        if let Some(token) = &args.auth {
            xc.auth(token.clone());
        }
        Ok(Target::Registry(xc))
    }

    /// Calls `service.method` with the payload and returns the reply bytes.
    pub(crate) async fn call(
        &self,
        service: &str,
        method: &str,
        payload: &Raw,
        opts: CallOptions,
    ) -> Result<RawReply, CallFailure> {
        let reply = match self {
            Target::Single(c) => {
                c.call_with::<Raw, Raw>(service.to_owned(), method.to_owned(), payload, opts)
                    .await?
            }
            Target::Registry(x) => x.call_with::<Raw, Raw>(method, payload, opts).await?,
        };
        Ok(RawReply {
            payload: reply.value.into_bytes(),
            metadata: reply.metadata,
        })
    }

    /// Sends a oneway call.
    pub(crate) async fn oneway(
        &self,
        service: &str,
        method: &str,
        payload: &Raw,
        opts: CallOptions,
    ) -> Result<(), CallFailure> {
        match self {
            Target::Single(c) => {
                c.oneway(service.to_owned(), method.to_owned(), payload, opts)
                    .await?
            }
            Target::Registry(x) => x.oneshot(method, payload, opts).await?,
        }
        Ok(())
    }
}

/// The per-call options `args` ask for.
pub(crate) fn call_options(args: &TargetArgs, timeout: Duration) -> CallOptions {
    let mut opts = CallOptions::default()
        .timeout(timeout)
        .serialize_type(serialize_type(args.serialize));
    if args.gzip {
        opts = opts.compress_type(CompressType::GZIP);
    }
    for (k, v) in &args.meta {
        opts = opts.meta(k.clone(), v.clone());
    }
    opts
}

fn fail_mode(f: FailModeArg) -> FailMode {
    match f {
        FailModeArg::Failover => FailMode::Failover,
        FailModeArg::Failfast => FailMode::Failfast,
        FailModeArg::Failtry => FailMode::Failtry,
        FailModeArg::Failbackup => FailMode::Failbackup,
    }
}

fn select_mode(s: SelectModeArg) -> SelectMode {
    match s {
        SelectModeArg::Random => SelectMode::Random,
        SelectModeArg::RoundRobin => SelectMode::RoundRobin,
        SelectModeArg::WeightedRoundRobin => SelectMode::WeightedRoundRobin,
        SelectModeArg::WeightedIcmp => SelectMode::WeightedIcmp,
        SelectModeArg::ConsistentHash => SelectMode::ConsistentHash,
        SelectModeArg::Closest => SelectMode::Closest,
    }
}
