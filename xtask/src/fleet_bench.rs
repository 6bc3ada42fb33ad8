//! `cargo xtask fleet-bench [ARGS..]`: the XClient fleet benchmark (calls/s and client CPU per
//! call for 1, 10, 100 and 1000 servers and every select mode, beside a plain `Client`).
//!
//! It runs the `fleet_bench` example of `fastrpc-xclient` in release mode; ARGS are passed on
//! (`--sizes 1,1000 --modes rr,random --secs 2 --callers 64`). The figures are printed as
//! Markdown tables for `docs/BENCHMARKS.md`.

/// The `cargo` arguments that run the benchmark with `extra` passed on.
pub(crate) fn cargo_args(extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--release",
        "-p",
        "fastrpc-xclient",
        "--example",
        "fleet_bench",
        "--",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().cloned());
    args
}
