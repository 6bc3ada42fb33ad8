//! Fuzzing with cargo-fuzz (libFuzzer): the long run (`cargo xtask fuzz`) and the short smoke
//! run inside `cargo xtask ci`.
//!
//! The targets live in `fuzz/fuzz_targets/`: the frame decoder, the server's connection loop
//! over an in-memory pipe, and the client's reply path. cargo-fuzz wants a nightly compiler
//! for its `-Z` flags; the machine's toolchain is stable, so the runs set `RUSTC_BOOTSTRAP=1`,
//! which lets stable rustc take them. The smoke run uses `--sanitizer none` (our code is safe
//! Rust; what it looks for is panics and hangs, and it builds and runs much faster), the long
//! run keeps AddressSanitizer.

use std::process::Command;
use std::time::Instant;

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub(crate) const TARGETS: [&str; 3] = ["decode_frame", "serve_connection", "client_reply"];

/// Seconds each target runs in `cargo xtask ci`.
const CI_SECONDS_PER_TARGET: u64 = 8;

/// `cargo xtask fuzz [--seconds N] [TARGET..]`: every target (or those named) for N seconds
/// each (default 300), with AddressSanitizer. `cargo xtask fuzz --smoke`: the short run of CI.
pub(crate) fn long_run(args: &[String]) -> crate::Result {
    if args.iter().any(|a| a == "--smoke") {
        return ci_smoke();
    }
    let mut seconds = 300u64;
    let mut targets: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let n = it.next().ok_or("--seconds needs a value")?;
                seconds = n.parse().map_err(|e| format!("--seconds: {e}"))?;
            }
            t if TARGETS.contains(&t) => targets.push(t.to_owned()),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?}; usage: cargo xtask fuzz [--smoke | --seconds N] [{}]",
                    TARGETS.join(" | ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    crate::ensure_cargo_tool("fuzz", "cargo-fuzz")?;
    for t in &targets {
        fuzz_target(t, seconds, &[])?;
    }
    Ok(())
}

/// The short run of `cargo xtask ci`: builds the targets once and runs each for a few
/// seconds. Skipped, with a message saying why, where cargo-fuzz cannot work (no cargo-fuzz
/// and no way to install it, or a compiler that refuses its flags even with
/// `RUSTC_BOOTSTRAP=1`); a target that builds and then crashes fails CI.
pub(crate) fn ci_smoke() -> crate::Result {
    let started = Instant::now();
    if let Err(e) = crate::ensure_cargo_tool("fuzz", "cargo-fuzz") {
        skip(&format!(
            "cargo-fuzz is not installed and could not be installed ({e})"
        ));
        return Ok(());
    }
    if !toolchain_takes_fuzz_flags() {
        skip("this rustc refuses cargo-fuzz's -Z flags even with RUSTC_BOOTSTRAP=1");
        return Ok(());
    }
    cargo_fuzz(&["build", "--fuzz-dir", "fuzz", "--sanitizer", "none"])?;
    for t in TARGETS {
        fuzz_target(t, CI_SECONDS_PER_TARGET, &["--sanitizer", "none"])?;
    }
    eprintln!(
        "fuzz smoke run: {} targets x {CI_SECONDS_PER_TARGET} s, {:.0?} with the build \
         (the long run: cargo xtask fuzz --seconds 300)",
        TARGETS.len(),
        started.elapsed()
    );
    Ok(())
}

fn skip(why: &str) {
    eprintln!(
        "\nxtask ci: SKIPPING the fuzz smoke run: {why}.\n  \
         Run it where cargo-fuzz works: cargo xtask fuzz --seconds 300"
    );
}

/// True when rustc accepts an unstable flag of the kind cargo-fuzz passes.
fn toolchain_takes_fuzz_flags() -> bool {
    Command::new("rustc")
        .args(["-Z", "unstable-options", "--print", "sysroot"])
        .env("RUSTC_BOOTSTRAP", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs one target for `seconds`; extra arguments go to `cargo fuzz run`.
fn fuzz_target(target: &str, seconds: u64, extra: &[&str]) -> crate::Result {
    let max_time = format!("-max_total_time={seconds}");
    let mut args = vec!["run", "--fuzz-dir", "fuzz"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[target, "--", &max_time, "-rss_limit_mb=2048"]);
    cargo_fuzz(&args)
}

/// `cargo fuzz ARGS` with `RUSTC_BOOTSTRAP=1`, echoed and timed.
fn cargo_fuzz(args: &[&str]) -> crate::Result {
    eprintln!("\n==> RUSTC_BOOTSTRAP=1 cargo fuzz {}", args.join(" "));
    let started = Instant::now();
    let status = Command::new("cargo")
        .arg("fuzz")
        .args(args)
        .env("RUSTC_BOOTSTRAP", "1")
        .status()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    eprintln!("<== cargo fuzz {} ({:.0?})", args[0], started.elapsed());
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo fuzz {}` failed: {status}", args.join(" ")))
    }
}
