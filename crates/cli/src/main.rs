//! `fastrpc`: the command line of fastrpc, for fastrpc and Go rpcx services alike.
//!
//! - `fastrpc call ADDR_OR_REGISTRY_URL Service.Method ARGS`: one call, reply as JSON.
//! - `fastrpc bench ...`: closed-loop load with p50/p99/p99.9.
//! - `fastrpc list REGISTRY_URL [Service]`: servers, metadata, heartbeat check.
//! - `fastrpc dump --listen A --upstream B [--filter S.M]`: a proxy printing decoded frames.
//! - `fastrpc describe ADDR [Service]`: services, methods and their shapes (reflection).
//! - `fastrpc ui --registry URL --listen 127.0.0.1:8080`: a web dashboard for a registry.
//! - `fastrpc completions SHELL`: shell completions.
//!
//! Exit status: 0 on success, 1 on a local or connection failure, 2 on bad usage (clap),
//! 3 when the server answered with an error reply (its text on stderr), 4 on a timeout.
//!
//! Dependencies: clap (+ clap_complete) for the grammar and completions, indicatif for the
//! progress bar, hdrhistogram for percentiles, humantime for durations, anyhow for one-line
//! errors; axum (already the workspace's HTTP server, in the Consul emulator) serves the
//! dashboard; all maintained and permissively licensed.

mod args;
mod bench;
mod call;
mod describe;
mod dump;
mod list;
mod payload;
mod target;
mod ui;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use std::process::ExitCode;
use target::CallFailure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fastrpc: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let output = cli.output;
    let result = rt.block_on(async move {
        match cli.command {
            Command::Call(a) => call::run(a, output).await,
            Command::Bench(a) => bench::run(a, output).await.map_err(CallFailure::Other),
            Command::List(a) => list::run(a, output).await.map_err(CallFailure::Other),
            Command::Dump(a) => dump::run(a, output).await.map_err(CallFailure::Other),
            Command::Describe(a) => describe::run(a, output).await,
            Command::Ui(a) => ui::run(a, output).await.map_err(CallFailure::Other),
            Command::Completions { shell } => {
                clap_complete::generate(
                    shell,
                    &mut Cli::command(),
                    "fastrpc",
                    &mut std::io::stdout(),
                );
                Ok(())
            }
        }
    });
    // Do not wait for connection tasks still winding down.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fastrpc: {e}");
            ExitCode::from(match e {
                CallFailure::Remote(_) => 3,
                CallFailure::Timeout => 4,
                CallFailure::Other(_) => 1,
            })
        }
    }
}
