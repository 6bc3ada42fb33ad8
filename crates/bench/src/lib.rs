//! Side-by-side benchmark of fastrpc against tarpc, tonic and a bare tokio echo.
//!
//! One run measures every system on this machine, over loopback, with the server and the client
//! in separate processes, and reports calls per second, latency percentiles and the CPU time
//! each side spent per call (from the OS). See `docs/BENCHMARKS.md` for the method and the
//! latest figures, and `fastrpc-bench run --help` for the options.
//!
//! Besides that throughput axis, the scale axes (`--axis connections,idle,spike`) measure many
//! connections with one caller each, the server's memory per idle connection, and the memory
//! a server keeps after a spike of large calls (see [`scale`]).
//!
//! This crate is not published; its library exists so the harness can be tested in-process.

pub mod bare;
pub mod cpu;
pub mod fastrpc_system;
pub mod load;
pub mod message;
pub mod procfs;
pub mod report;
pub mod run;
pub mod scale;
pub mod scale_report;
pub mod scale_run;
pub mod system;
pub mod tarpc_system;
pub mod tonic_system;

/// The global allocator this binary was built with: `mimalloc` with the `mimalloc` feature,
/// else `system`.
pub const ALLOCATOR: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "system"
};
