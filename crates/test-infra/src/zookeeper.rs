//! Real ZooKeeper servers: a standalone node or a three-node ensemble, on free loopback ports.

use crate::{Process, TempDir, free_port, require_binary};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a node or an ensemble may take to serve (generous: a loaded 2-core box).
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Where Debian's `zookeeper` package puts its jars.
pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

/// The classpath of Debian's ZooKeeper (`*` is expanded by java, not by a shell).
pub fn zookeeper_classpath(conf_dir: &Path) -> String {
    format!("{}:/usr/share/java/*", conf_dir.display())
}

/// The ports of one ZooKeeper server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZkPorts {
    /// The client port.
    pub client: u16,
    /// The quorum (follower to leader) port.
    pub quorum: u16,
    /// The leader election port.
    pub election: u16,
}

impl ZkPorts {
    /// Three free loopback ports.
    pub fn free() -> ZkPorts {
        ZkPorts {
            client: free_port(),
            quorum: free_port(),
            election: free_port(),
        }
    }
}

/// Writes `zoo.cfg` (and `myid`) for server `id` (1-based) of `ensemble` under `dir`
/// (`dir/conf`, `dir/data`), and returns the java arguments that start it. A one-server
/// `ensemble` is a standalone server. `tickTime` is 1 s (sessions of 2 s to 20 s; elections
/// of a few seconds). Shared with `cargo xtask infra up`.
pub fn zookeeper_setup(
    id: usize,
    ensemble: &[ZkPorts],
    dir: &Path,
) -> std::io::Result<Vec<String>> {
    let conf = dir.join("conf");
    let data = dir.join("data");
    std::fs::create_dir_all(&conf)?;
    std::fs::create_dir_all(&data)?;
    let ports = ensemble[id - 1];
    let mut cfg = format!(
        "tickTime=1000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
         clientPortAddress=127.0.0.1\nadmin.enableServer=false\n\
         4lw.commands.whitelist=ruok,stat,srvr,mntr,conf\nmaxSessionTimeout=60000\n",
        data.display(),
        ports.client
    );
    if ensemble.len() > 1 {
        std::fs::write(data.join("myid"), format!("{id}\n"))?;
        for (i, p) in ensemble.iter().enumerate() {
            cfg.push_str(&format!(
                "server.{}=127.0.0.1:{}:{}\n",
                i + 1,
                p.quorum,
                p.election
            ));
        }
    }
    std::fs::write(conf.join("zoo.cfg"), cfg)?;
    std::fs::write(
        conf.join("log4j.properties"),
        "log4j.rootLogger=WARN, CONSOLE\n",
    )?;
    Ok(vec![
        "-Xms16m".into(),
        "-Xmx128m".into(),
        "-XX:+UseSerialGC".into(),
        "-XX:TieredStopAtLevel=1".into(),
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn".into(),
        "-cp".into(),
        zookeeper_classpath(&conf),
        "org.apache.zookeeper.server.quorum.QuorumPeerMain".into(),
        conf.join("zoo.cfg").display().to_string(),
    ])
}

/// Sends a four-letter command (`ruok`, `srvr`) to `addr` and returns the answer.
pub fn four_letter(addr: SocketAddr, command: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(command.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// One server of a [`ZooKeeper`] deployment.
#[derive(Debug)]
pub struct ZkServer {
    /// Its id (`myid`, 1-based).
    pub id: usize,
    /// Its ports.
    pub ports: ZkPorts,
    /// Its process.
    pub process: Process,
}

impl ZkServer {
    /// Its client address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.client))
    }

    /// Its `Mode:` from `srvr` (`standalone`, `leader`, `follower`), when it serves.
    pub fn mode(&self) -> Option<String> {
        let srvr = four_letter(self.addr(), "srvr").ok()?;
        srvr.lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(|m| m.trim().to_owned())
    }
}

/// A real ZooKeeper deployment (standalone, or an ensemble) started for one test, killed on
/// drop.
#[derive(Debug)]
pub struct ZooKeeper {
    servers: Vec<ZkServer>,
    java: PathBuf,
    dir: TempDir,
}

impl ZooKeeper {
    /// A standalone server, serving; `None` (test skipped) when ZooKeeper is not installed.
    pub fn single() -> Option<ZooKeeper> {
        ZooKeeper::start(1)
    }

    /// A three-server ensemble with a leader elected; `None` when ZooKeeper is not installed.
    pub fn ensemble() -> Option<ZooKeeper> {
        ZooKeeper::start(3)
    }

    /// `size` servers on free ports, each with its own data dir, all serving.
    pub fn start(size: usize) -> Option<ZooKeeper> {
        let java = require_binary("java", &[])?;
        // Debian's `zookeeper` package: its jar, found the same skip-or-fail way.
        let jar = Path::new(ZOOKEEPER_JAR);
        require_binary("zookeeper.jar", &[jar.parent()?.to_str()?])?;
        let dir = TempDir::new("zookeeper");
        let ensemble: Vec<ZkPorts> = (0..size).map(|_| ZkPorts::free()).collect();
        let servers = (1..=size)
            .map(|id| {
                let server_dir = dir.path().join(format!("zk{id}"));
                let args = zookeeper_setup(id, &ensemble, &server_dir).expect("write zoo.cfg");
                let log = dir.path().join(format!("zk{id}.log"));
                ZkServer {
                    id,
                    ports: ensemble[id - 1],
                    process: Process::spawn(&format!("zookeeper {id}"), &java, &args, &log),
                }
            })
            .collect();
        let zk = ZooKeeper { servers, java, dir };
        for i in 0..size {
            zk.wait_serving(i);
        }
        Some(zk)
    }

    /// The servers.
    pub fn servers(&self) -> &[ZkServer] {
        &self.servers
    }

    /// The connect string, `127.0.0.1:p1,127.0.0.1:p2,...`.
    pub fn connect_string(&self) -> String {
        self.servers
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.ports.client))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A `zookeeper://` registry URL naming every server, with `base` as the base path and
    /// `query` (may be empty) as options.
    pub fn url(&self, base: &str, query: &str) -> String {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        format!("zookeeper://{}{base}{q}", self.connect_string())
    }

    /// The index of the current leader, if an ensemble has one.
    pub fn leader(&self) -> Option<usize> {
        self.servers
            .iter()
            .position(|s| s.mode().as_deref() == Some("leader"))
    }

    /// Kills server `i` hard (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        self.servers[i].process.kill();
    }

    /// Stops server `i` politely (SIGTERM).
    pub fn stop(&mut self, i: usize) {
        self.servers[i].process.stop(Duration::from_secs(10));
    }

    /// Starts server `i` again (same ports, same data) and waits until it serves.
    pub fn restart(&mut self, i: usize) {
        self.servers[i].process.start();
        self.wait_serving(i);
    }

    /// Waits until server `i` serves clients (`srvr` shows a `Mode:`); panics with its log
    /// tail after a generous timeout.
    pub fn wait_serving(&self, i: usize) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while self.servers[i].mode().is_none() {
            if Instant::now() >= deadline {
                panic!(
                    "zookeeper {} not serving within {READY_TIMEOUT:?}; log:\n{}",
                    self.servers[i].id,
                    self.servers[i].process.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs one ZooKeeper CLI command (`ZooKeeperMain`, what `zkCli.sh` runs) against the
    /// first running server, e.g. `["create", "/rpcx_test", "rpcx_path"]`; returns its
    /// output, or the output as the error when it fails.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let server = self
            .servers
            .iter()
            .find(|s| s.mode().is_some())
            .ok_or("no ZooKeeper server is serving")?;
        let out = Command::new(&self.java)
            .args(["-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp"])
            .arg(zookeeper_classpath(&self.dir.path().join("zk1/conf")))
            .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
            .arg("org.apache.zookeeper.ZooKeeperMain")
            .args(["-server", &format!("127.0.0.1:{}", server.ports.client)])
            .args(args)
            .output()
            .map_err(|e| format!("run the ZooKeeper CLI: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() && !text.contains("Exception") {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(text)
        }
    }

    /// The data directory of the whole deployment.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
