//! A real Redis server (`redis-server` from Debian's `redis-server` package) on a free
//! loopback port with its own temporary directory, and a `redis-cli` helper.

use crate::{Process, TempDir, free_port, require_binary, wait_for_port};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A Redis server for one test. Started without persistence (`--save '' --appendonly no`):
/// a restart loses every key, as a cache-style Redis does. Killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    process: Process,
    port: u16,
    cli: PathBuf,
    _dir: TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it accepts connections; `None` (after printing why)
    /// when `redis-server` or `redis-cli` is not installed and infrastructure is optional.
    pub fn start() -> Option<RedisServer> {
        let server = require_binary("redis-server", &[])?;
        let cli = require_binary("redis-cli", &[])?;
        let dir = TempDir::new("redis");
        let port = free_port();
        let args: Vec<String> = [
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--dir",
            &dir.path().display().to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let log = dir.path().join("redis.log");
        let process = Process::spawn("redis-server", &server, &args, &log);
        let mut redis = RedisServer {
            process,
            port,
            cli,
            _dir: dir,
        };
        redis.wait_ready();
        Some(redis)
    }

    fn wait_ready(&mut self) {
        if let Err(e) = wait_for_port(self.addr(), Duration::from_secs(20)) {
            panic!("redis-server: {e}\n{}", self.process.log_tail(20));
        }
    }

    /// The loopback address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT{path_and_query}`, e.g. `url("/rpcx_test?interval=1s")`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("redis://127.0.0.1:{}{path_and_query}", self.port)
    }

    /// Stops the server politely (SIGTERM).
    pub fn stop(&mut self) {
        self.process.stop(Duration::from_secs(10));
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts it again on the same port (after `stop` or `kill`); the data is gone.
    pub fn restart(&mut self) {
        self.process.start();
        self.wait_ready();
    }

    /// Runs `redis-cli -p PORT args..` and returns its standard output (trailing newline
    /// removed). Panics when `redis-cli` fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(&self.cli)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_owned()
    }
}
