//! Governance plugins for fastrpc servers and clients.
//!
//! Each family sits behind a same-named Cargo feature and plugs into the hooks that already
//! exist (the server's `ServerPlugin`, the client's `Call` trait), so turning one on changes no
//! server code and costs nothing when it is off:
//!
//! - `ratelimit`: [`ratelimit`] — token buckets on accepts, requests and client calls.
//! - `acl`: [`acl`] — allow and deny lists of IPs and CIDR ranges, checked on accept.
//! - `alias`: [`alias`] — methods served under other names, as rpcx's alias plugin does.
//! - `tower`: [`layer`] — tower `Layer`s around handlers.
//! - `otel`: [`otel`] — OpenTelemetry server and client spans, W3C trace context in the
//!   request metadata.
//! - `metrics`: [`metrics`] — calls, errors, in-flight, latency, connections and bytes, for
//!   Prometheus.
//!
//! See `docs/PLUGINS.md` for a runnable example of each.

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "acl")]
#[cfg_attr(docsrs, doc(cfg(feature = "acl")))]
pub mod acl;
#[cfg(feature = "alias")]
#[cfg_attr(docsrs, doc(cfg(feature = "alias")))]
pub mod alias;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod layer;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub mod otel;
#[cfg(feature = "ratelimit")]
#[cfg_attr(docsrs, doc(cfg(feature = "ratelimit")))]
pub mod ratelimit;
