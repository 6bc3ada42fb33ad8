//! Project automation, run as `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks, on a fresh machine: installs the tools the checks need, then
//!   `cargo fmt --check`, `cargo clippy --all-targets -D warnings`,
//!   `cargo deny check licenses bans sources`, the whole test suite, and the quickstart.
//! - `bench [--short] [--mimalloc] [ARGS..]`: the side-by-side benchmark (`crates/bench`),
//!   written to `docs/benchmarks/` unless `--out` says otherwise; `--axis connections,idle,spike`
//!   runs the scale axes, `--axis transport` the opaque workload over every network
//!   (`examples/transport_bench.rs`), `--mimalloc` builds it on mimalloc.
//! - `fuzz [--smoke | --seconds N] [TARGET..]`: the long fuzz run of every target (see
//!   `fuzz.rs`); `ci` includes the short one (`--smoke`).
//! - `fleet-bench [ARGS..]`: the XClient fleet benchmark (see `fleet_bench.rs`).
//! - `plugin-bench`: the cost of metrics and tracing, with and without side by side (see
//!   `plugin_bench.rs`).
//! - `infra install | up | down`: real etcd, ZooKeeper and Redis for the registry tests
//!   (see `infra.rs`); `ci` runs `infra install` first and the tests with
//!   `FASTRPC_REQUIRE_INFRA=1`.

mod fleet_bench;
mod fuzz;
mod infra;
mod plugin_bench;

use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz::long_run(&args[1..]),
        Some("infra") => infra::main(&args[1..]),
        Some("fleet-bench") => {
            let cargo = fleet_bench::cargo_args(&args[1..]);
            run(
                "cargo",
                &cargo.iter().map(String::as_str).collect::<Vec<_>>(),
            )
        }
        Some("plugin-bench") => plugin_bench::cargo_runs()
            .iter()
            .try_for_each(|args| run("cargo", args)),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci [--skip-lints] | bench [--short] [--mimalloc] [ARGS..] | fuzz [--smoke | --seconds N] [TARGET..] | fleet-bench [ARGS..] | plugin-bench | infra <install|up|down>>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

/// Runs a command, echoing it, and fails on a non-zero exit.
fn run(program: &str, args: &[&str]) -> Result {
    eprintln!("\n==> {program} {}", args.join(" "));
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    eprintln!(
        "<== {program} {} ({:.0?})",
        args.first().copied().unwrap_or(""),
        started.elapsed()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {status}", args.join(" ")))
    }
}

/// True when `program args` runs and succeeds (quietly).
fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_cargo_tool(subcommand: &str, krate: &str) -> Result {
    if works("cargo", &[subcommand, "--version"]) {
        return Ok(());
    }
    run("cargo", &["install", krate, "--locked"])
}

fn ci(args: &[String]) -> Result {
    let skip_lints = args.iter().any(|a| a == "--skip-lints");
    let started = Instant::now();
    // Before any build: etcd-client's build needs protoc; the registry tests need servers.
    infra::install()?;
    if !skip_lints {
        run("rustup", &["component", "add", "rustfmt", "clippy"]).or_else(|e| {
            // Offline or no rustup: fine if the components are already there.
            if works("cargo", &["fmt", "--version"]) && works("cargo", &["clippy", "--version"]) {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        ensure_cargo_tool("deny", "cargo-deny")?;
        run("cargo", &["fmt", "--all", "--", "--check"])?;
        run(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        )?;
        // The opt-in allocator feature: the facade's re-export and the binaries that install it.
        run(
            "cargo",
            &[
                "clippy",
                "-p",
                "fastrpc",
                "-p",
                "fastrpc-bench",
                "--all-targets",
                "--features",
                "fastrpc/mimalloc,fastrpc-bench/mimalloc",
                "--",
                "-D",
                "warnings",
            ],
        )?;
        run("cargo", &["deny", "check", "licenses", "bans", "sources"])?;
    }
    infra::run_requiring_infra("cargo", &["test", "--workspace", "--no-fail-fast"])?;
    // The workspace run builds the facade with every registry feature (the cli asks for them);
    // alone, without them, `from_url` must name the feature a registry scheme needs.
    run("cargo", &["test", "-p", "fastrpc", "--test", "from_url"])?;
    // Features no workspace member turns on: Thrift (its golden and end-to-end tests) and the
    // plugin families (docs/PLUGINS.md's snippets), with the facade's tests run once more.
    infra::run_requiring_infra(
        "cargo",
        &[
            "test",
            "-p",
            "fastrpc-codec",
            "-p",
            "fastrpc",
            "--features",
            "fastrpc/full,fastrpc-codec/thrift",
            "--no-fail-fast",
        ],
    )?;
    // The transport features alone, without the defaults: each must build on its own (the
    // `networks` test above ran them all together under `full`).
    for features in ["quic", "kcp", "ws", "http", "tls", "reuseport"] {
        run(
            "cargo",
            &[
                "check",
                "-p",
                "fastrpc",
                "--no-default-features",
                "--features",
                features,
            ],
        )?;
    }
    run("cargo", &["run", "--quiet", "--example", "quickstart"])?;
    fuzz::ci_smoke()?;
    eprintln!("\nxtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// Splits the `transport` axis off `--axis A,B` (it runs `examples/transport_bench.rs`, one
/// process with every network); returns the arguments left for `fastrpc-bench`, `None` when
/// no other axis is left, and whether the transport axis was asked for.
fn split_transport_axis(args: &[String]) -> (Option<Vec<String>>, bool) {
    let mut rest = Vec::new();
    let mut transport = false;
    let mut others_left = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let list = if a == "--axis" {
            it.next().cloned().unwrap_or_default()
        } else if let Some(v) = a.strip_prefix("--axis=") {
            v.to_owned()
        } else {
            rest.push(a.clone());
            continue;
        };
        let axes: Vec<&str> = list.split(',').filter(|x| *x != "transport").collect();
        transport |= axes.len() != list.split(',').count();
        others_left = !axes.is_empty();
        if others_left {
            rest.push("--axis".to_owned());
            rest.push(axes.join(","));
        }
    }
    (others_left.then_some(rest), transport)
}

fn bench(args: &[String]) -> Result {
    let (rest, transport) = split_transport_axis(args);
    if let Some(rest) = rest {
        bench_systems(&rest)?;
    }
    if transport {
        run(
            "cargo",
            &[
                "run",
                "--release",
                "-p",
                "fastrpc",
                "--example",
                "transport_bench",
                "--features",
                "tls,quic,kcp,ws",
            ],
        )?;
    }
    Ok(())
}

fn bench_systems(args: &[String]) -> Result {
    let mut cmd: Vec<&str> = vec!["run", "--release", "-p", "fastrpc-bench"];
    // `--mimalloc` builds the benchmark (every role, servers included) on mimalloc.
    let mimalloc = args.iter().any(|a| a == "--mimalloc");
    if mimalloc {
        cmd.extend(["--features", "mimalloc"]);
    }
    cmd.extend(["--", "run"]);
    if !args.iter().any(|a| a == "--out" || a.starts_with("--out=")) {
        cmd.extend(["--out", "docs/benchmarks"]);
    }
    cmd.extend(
        args.iter()
            .map(String::as_str)
            .filter(|a| *a != "--mimalloc"),
    );
    run("cargo", &cmd)
}
