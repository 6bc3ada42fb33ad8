//! A call made from the page's form: JSON arguments to one server, or through the registry
//! with an XClient, and the reply shown as JSON.

use super::registry::Registry;
use crate::payload::decode_reply;
use fastrpc::{
    CallOptions, Client, ClientOptions, FailMode, Raw, SelectMode, SerializeType, XClient,
    XClientOptions,
};
use serde_json::Value;
use std::time::Duration;

/// What the form sent.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct CallForm {
    /// `Service.Method`.
    #[serde(default)]
    pub(crate) method: String,
    /// A server key, or empty to call through the registry.
    #[serde(default)]
    pub(crate) server: String,
    /// The argument as JSON.
    #[serde(default)]
    pub(crate) args: String,
}

/// How the call went, for the page.
#[derive(Debug, Clone)]
pub(crate) struct CallOutcome {
    /// True for a reply, false for an error.
    pub(crate) ok: bool,
    /// The reply as pretty JSON, or the error text.
    pub(crate) text: String,
    /// The server that answered (`__ServerAddress` or the one called), when known.
    pub(crate) server: Option<String>,
    /// How long the call took.
    pub(crate) elapsed: Duration,
}

/// Runs the call the form asks for.
pub(crate) async fn run(registry: &Registry, form: &CallForm, timeout: Duration) -> CallOutcome {
    let began = std::time::Instant::now();
    let result = call(registry, form, timeout).await;
    let elapsed = began.elapsed();
    match result {
        Ok((value, server)) => CallOutcome {
            ok: true,
            text: serde_json::to_string_pretty(&value).unwrap_or_default(),
            server,
            elapsed,
        },
        Err(e) => CallOutcome {
            ok: false,
            text: format!("{e:#}"),
            server: None,
            elapsed,
        },
    }
}

async fn call(
    registry: &Registry,
    form: &CallForm,
    timeout: Duration,
) -> anyhow::Result<(Value, Option<String>)> {
    let (service, method) = match form.method.trim().rsplit_once('.') {
        Some((s, m)) if !s.is_empty() && !m.is_empty() => (s, m),
        _ => anyhow::bail!("`{}` is not Service.Method", form.method.trim()),
    };
    let args = if form.args.trim().is_empty() {
        "null"
    } else {
        form.args.trim()
    };
    let value: Value = serde_json::from_str(args)
        .map_err(|e| anyhow::anyhow!("the arguments are not valid JSON: {e}"))?;
    let payload = Raw(serde_json::to_vec(&value)?.into());
    let opts = CallOptions::default()
        .timeout(timeout)
        .serialize_type(SerializeType::JSON);
    let copts = ClientOptions::default()
        .connect_timeout(timeout)
        .default_timeout(Some(timeout));
    let reply = if form.server.is_empty() {
        let discovery = registry.discovery(service).await?;
        let xopts = XClientOptions::default()
            .default_timeout(timeout)
            .client_options(copts);
        let xc = XClient::new(
            service,
            FailMode::Failfast,
            SelectMode::RoundRobin,
            discovery,
            xopts,
        )?;
        let reply = xc.call_with::<Raw, Raw>(method, &payload, opts).await;
        xc.close();
        reply?
    } else {
        let client = Client::connect_with(&form.server, copts).await?;
        let reply = client
            .call_with::<Raw, Raw>(service.to_owned(), method.to_owned(), &payload, opts)
            .await;
        client.close();
        reply?
    };
    let server = reply
        .metadata
        .get("__ServerAddress")
        .map(str::to_owned)
        .or_else(|| (!form.server.is_empty()).then(|| form.server.clone()));
    let value = decode_reply(SerializeType::JSON, &reply.value.into_bytes());
    Ok((value, server))
}
