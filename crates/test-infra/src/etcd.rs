//! Real etcd servers: a single node or a three-node cluster, on free loopback ports.

use crate::{Process, TempDir, free_port, require_binary};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a node or a cluster may take to become healthy (generous: a loaded 2-core box).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The ports of one etcd member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EtcdPorts {
    /// The client port (gRPC, what fastrpc and `etcdctl` talk to).
    pub client: u16,
    /// The peer port (raft between members).
    pub peer: u16,
    /// The metrics port (kept off the default 2381).
    pub metrics: u16,
}

impl EtcdPorts {
    /// Three free loopback ports.
    pub fn free() -> EtcdPorts {
        EtcdPorts {
            client: free_port(),
            peer: free_port(),
            metrics: free_port(),
        }
    }
}

/// The command-line arguments of etcd member `name` (of the members `cluster`, as
/// `(name, ports)`), with its data in `data_dir`. Shared with `cargo xtask infra up`.
pub fn etcd_args(
    name: &str,
    ports: EtcdPorts,
    cluster: &[(String, EtcdPorts)],
    data_dir: &Path,
) -> Vec<String> {
    let initial_cluster = cluster
        .iter()
        .map(|(n, p)| format!("{n}=http://127.0.0.1:{}", p.peer))
        .collect::<Vec<_>>()
        .join(",");
    let client = format!("http://127.0.0.1:{}", ports.client);
    let peer = format!("http://127.0.0.1:{}", ports.peer);
    [
        "--name",
        name,
        "--data-dir",
        &data_dir.display().to_string(),
        "--listen-client-urls",
        &client,
        "--advertise-client-urls",
        &client,
        "--listen-peer-urls",
        &peer,
        "--initial-advertise-peer-urls",
        &peer,
        "--initial-cluster",
        &initial_cluster,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        "fastrpc-test",
        "--listen-metrics-urls",
        &format!("http://127.0.0.1:{}", ports.metrics),
        "--log-level",
        "warn",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One etcd member of an [`Etcd`] deployment.
#[derive(Debug)]
pub struct EtcdMember {
    /// Its name (`n1`, ...).
    pub name: String,
    /// Its ports.
    pub ports: EtcdPorts,
    /// Its process.
    pub process: Process,
}

/// A real etcd deployment (one member, or a cluster) started for one test, killed on drop.
#[derive(Debug)]
pub struct Etcd {
    members: Vec<EtcdMember>,
    etcdctl: PathBuf,
    dir: TempDir,
}

impl Etcd {
    /// A single etcd node, healthy; `None` (test skipped) when etcd is not installed.
    pub fn single() -> Option<Etcd> {
        Etcd::start(1)
    }

    /// A three-member etcd cluster, every member healthy; `None` when etcd is not installed.
    pub fn cluster() -> Option<Etcd> {
        Etcd::start(3)
    }

    /// `size` members on free ports, each with its own data dir, all healthy.
    pub fn start(size: usize) -> Option<Etcd> {
        let etcd = require_binary("etcd", &[])?;
        let etcdctl = require_binary("etcdctl", &[])?;
        let dir = TempDir::new("etcd");
        let cluster: Vec<(String, EtcdPorts)> = (1..=size)
            .map(|i| (format!("n{i}"), EtcdPorts::free()))
            .collect();
        let members = cluster
            .iter()
            .map(|(name, ports)| {
                let args = etcd_args(name, *ports, &cluster, &dir.path().join(name));
                let log = dir.path().join(format!("{name}.log"));
                EtcdMember {
                    name: name.clone(),
                    ports: *ports,
                    process: Process::spawn(&format!("etcd {name}"), &etcd, &args, &log),
                }
            })
            .collect();
        let e = Etcd {
            members,
            etcdctl,
            dir,
        };
        for i in 0..size {
            e.wait_healthy(i);
        }
        Some(e)
    }

    /// The members.
    pub fn members(&self) -> &[EtcdMember] {
        &self.members
    }

    /// `127.0.0.1:port` of every member's client port.
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.ports.client))
            .collect()
    }

    /// An `etcd://` registry URL naming every member, with `base` as the base path
    /// (`/rpcx_test`) and `query` (may be empty) as options.
    pub fn url(&self, base: &str, query: &str) -> String {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        format!("etcd://{}{base}{q}", self.endpoints().join(","))
    }

    /// Kills member `i` hard (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        self.members[i].process.kill();
    }

    /// Stops member `i` politely (SIGTERM).
    pub fn stop(&mut self, i: usize) {
        self.members[i].process.stop(Duration::from_secs(10));
    }

    /// Starts member `i` again (same ports, same data) and waits until it is healthy.
    pub fn restart(&mut self, i: usize) {
        self.members[i].process.start();
        self.wait_healthy(i);
    }

    /// Waits until member `i` answers `etcdctl endpoint health`; panics with its log tail
    /// after a generous timeout.
    pub fn wait_healthy(&self, i: usize) {
        let endpoint = format!("http://127.0.0.1:{}", self.members[i].ports.client);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let ok = Command::new(&self.etcdctl)
                .env("ETCDCTL_API", "3")
                .args(["--endpoints", &endpoint, "--command-timeout=2s"])
                .args(["endpoint", "health"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "etcd {} not healthy within {READY_TIMEOUT:?}; log:\n{}",
                    self.members[i].name,
                    self.members[i].process.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `etcdctl <args>` (API v3) against every running member; returns stdout, or
    /// stderr as the error.
    pub fn etcdctl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.etcdctl)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoints().join(",")))
            .arg("--command-timeout=10s")
            .args(args)
            .output()
            .map_err(|e| format!("run etcdctl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The data directory of the whole deployment.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
