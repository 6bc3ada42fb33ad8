//! [`PrometheusExporter`]: publishes the recorded metrics in Prometheus' text format.

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;

/// Latency buckets in seconds: 50 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// Byte buckets for the per-connection byte histograms: 1 KiB to 1 GiB by factors of 4.
pub const BYTE_BUCKETS: &[f64] = &[
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
];

/// Installs `metrics-exporter-prometheus` as the process's recorder, with histogram buckets
/// for fastrpc's metrics.
///
/// `metrics-exporter-prometheus` is the exporter of the `metrics` crate's authors: exposition
/// text, buckets and the HTTP listener are theirs, none hand-written here.
#[derive(Debug)]
pub struct PrometheusExporter {
    builder: PrometheusBuilder,
}

impl Default for PrometheusExporter {
    fn default() -> Self {
        PrometheusExporter::new()
    }
}

impl PrometheusExporter {
    /// An exporter with fastrpc's buckets and no HTTP listener yet.
    pub fn new() -> PrometheusExporter {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Suffix("connection_received_bytes".into()),
                    BYTE_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Suffix("connection_sent_bytes".into()),
                    BYTE_BUCKETS,
                )
            })
            .expect("the bucket lists are not empty");
        PrometheusExporter { builder }
    }

    /// The underlying builder, for any other setting (global labels, more buckets).
    pub fn builder(self) -> PrometheusBuilder {
        self.builder
    }

    /// Serves `GET /metrics` (any path, in fact) on `addr` from the current tokio runtime and
    /// installs the recorder for the whole process. Call once, inside a runtime.
    pub fn serve_http(self, addr: SocketAddr) -> Result<(), BuildError> {
        self.builder.with_http_listener(addr).install()
    }

    /// Installs the recorder without a listener; render the text yourself with
    /// [`PrometheusHandle::render`] (on a gateway port, say).
    pub fn install(self) -> Result<PrometheusHandle, BuildError> {
        self.builder.install_recorder()
    }
}
