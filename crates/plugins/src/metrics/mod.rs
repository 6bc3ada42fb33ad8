//! Metrics: server and client plugins recording through the `metrics` crate, and a Prometheus
//! exporter.
//!
//! `metrics` is the common facade of the Rust ecosystem (as `log` is for logs): the plugins
//! record into whatever recorder the process installed, so a user may pick another exporter;
//! [`PrometheusExporter`] installs `metrics-exporter-prometheus` and serves the text format
//! on an address the user chooses. Names are in [`names`].

mod client;
mod exporter;
mod handles;
pub mod names;
mod server;
mod size;

pub use client::{ErrorKindLabel, MeteredCall};
pub use exporter::{BYTE_BUCKETS, LATENCY_BUCKETS, PrometheusExporter};
pub use metrics_exporter_prometheus::{BuildError, PrometheusHandle};
pub use server::ServerMetrics;
