//! `cargo xtask plugin-bench`: what turning the observability plugins on costs, fastrpc with
//! and without them side by side in one process (64 callers, 64-byte echo, alternating
//! rounds): metrics (`ServerMetrics` + `MeteredCall`) and tracing (`ServerTracing` +
//! `TracedCall`). Set `FASTRPC_OTEL_LEAN=1` for the tracing layer without its per-span extras.
//! The figures go to `docs/BENCHMARKS.md` ("Observability on and off").

/// The `cargo` invocations, one per plugin family.
pub(crate) fn cargo_runs() -> Vec<Vec<&'static str>> {
    ["overhead", "otel_overhead"]
        .into_iter()
        .map(|test| {
            vec![
                "test",
                "--release",
                "-p",
                "fastrpc-plugins",
                "--test",
                test,
                "--",
                "--ignored",
                "--nocapture",
            ]
        })
        .collect()
}
