//! The cost of the observability plugins, side by side in one run (ignored by default; a
//! measurement, not a check):
//!
//! `cargo test --release -p fastrpc-plugins --test overhead -- --ignored --nocapture`

#[path = "support/side_by_side.rs"]
mod side_by_side;

use fastrpc_client::Client;
use fastrpc_plugins::metrics::{MeteredCall, PrometheusExporter, ServerMetrics};
use side_by_side::{compare, echo};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
async fn metrics_overhead_side_by_side() {
    PrometheusExporter::new().install().unwrap();
    let plain = echo().build().serve_tcp("127.0.0.1:0").await.unwrap();
    let metered = echo()
        .plugin(ServerMetrics::new())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let plain_client = Arc::new(
        Client::connect(&plain.local_addr().to_string())
            .await
            .unwrap(),
    );
    let metered_client = Arc::new(MeteredCall::new(
        Client::connect(&metered.local_addr().to_string())
            .await
            .unwrap(),
    ));
    let c = compare(plain_client, metered_client).await;
    println!("{}", c.report("metrics on server and client"));
}
