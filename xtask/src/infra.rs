//! `cargo xtask infra install | up | down | env`: the real registry servers the tests and
//! examples use, from Debian's packages, on loopback and non-default ports.
//!
//! - `install`: installs what is missing of etcd, ZooKeeper, Redis, `protoc` (etcd-client's
//!   build needs it, with the well-known `.proto` files of `libprotobuf-dev`) and iproute2
//!   (`ip netns` for the mDNS tests), with a `policy-rc.d` that keeps the packages' own
//!   services from starting; and python-zeroconf in a venv under the target directory, the
//!   other peer of the mDNS interop test (`FASTRPC_PYTHON`). Fast when everything is there.
//! - `up`: installs, then starts long-running servers: one etcd and a three-member etcd
//!   cluster, one ZooKeeper and a three-server ensemble, one Redis; data under a fresh
//!   temporary directory; prints their URLs and writes them to `target/infra/env`.
//! - `down`: stops them and removes their data.
//!
//! The integration tests do not need `up`: each starts its own servers on free ports (see
//! `crates/test-infra`); `up` is for examples and trying things by hand.

use crate::{Result, run};
use fastrpc_test_infra::{EtcdPorts, ZkPorts, etcd_args, four_letter, zookeeper_setup};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian packages the registry, capture and browser tests need.
const PACKAGES: &[&str] = &[
    "etcd-server",
    "etcd-client",
    "zookeeper",
    "redis-server",
    "protobuf-compiler",
    "libprotobuf-dev",
    "iproute2",
    // tcpdump: the capture `fastrpc dump --pcap` is tested against.
    "tcpdump",
    // chromium + chromium-driver: the browser `fastrpc ui` is tested in (WebDriver).
    "chromium",
    "chromium-driver",
];

const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// `cargo xtask infra <install|up|down>`.
pub(crate) fn main(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        Some("install") => install(),
        Some("up") => up(),
        Some("down") => down(),
        _ => Err("usage: cargo xtask infra <install | up | down>".into()),
    }
}

/// Runs `program args` with `FASTRPC_REQUIRE_INFRA=1`, so that a test whose server binary
/// is missing fails instead of skipping (CI must never pass by skipping).
pub(crate) fn run_requiring_infra(program: &str, args: &[&str]) -> Result {
    eprintln!("\n==> FASTRPC_REQUIRE_INFRA=1 {program} {}", args.join(" "));
    let mut cmd = Command::new(program);
    if venv_python().exists() {
        cmd.env("FASTRPC_PYTHON", venv_python());
    }
    let status = cmd
        .args(args)
        .env("FASTRPC_REQUIRE_INFRA", "1")
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {status}", args.join(" ")))
    }
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// The python-zeroconf the mDNS interop test runs as the other peer (Debian's is too old to
/// register a type without `._tcp`).
const ZEROCONF: &str = "zeroconf==0.154.0";

/// The virtual environment holding [`ZEROCONF`], under the target directory.
fn python_venv() -> PathBuf {
    let dir = state_dir().with_file_name("pyvenv");
    std::path::absolute(&dir).unwrap_or(dir)
}

/// The venv's Python, for the tests (`FASTRPC_PYTHON`).
pub(crate) fn venv_python() -> PathBuf {
    python_venv().join("bin").join("python")
}

/// Makes the venv with python-zeroconf unless it is there already (pip reaches PyPI).
fn install_python_zeroconf() -> Result {
    let python = venv_python();
    let ready = Command::new(&python)
        .args(["-c", "import zeroconf"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ready {
        return Ok(());
    }
    let venv = python_venv();
    let venv = venv.to_string_lossy();
    run("python3", &["-m", "venv", &venv])?;
    let pip = format!("{venv}/bin/pip");
    run(
        &pip,
        &["install", "-q", "--disable-pip-version-check", ZEROCONF],
    )
}

/// Installs the missing packages (apt-get update once, then one install), and the
/// python-zeroconf peer of the mDNS tests.
pub(crate) fn install() -> Result {
    install_packages()?;
    install_python_zeroconf()
}

fn install_packages() -> Result {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| !is_installed(p))
        .collect();
    if missing.is_empty() {
        eprintln!("infra: {} already installed", PACKAGES.join(" "));
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo: Vec<&str> = if root { vec![] } else { vec!["sudo"] };
    // Keep the packages' own services (on default ports) from starting.
    let made_policy = !Path::new(POLICY_RC_D).exists();
    if made_policy {
        let script =
            format!("printf '#!/bin/sh\\nexit 101\\n' > {POLICY_RC_D} && chmod 755 {POLICY_RC_D}");
        run_as(&sudo, "sh", &["-c", &script])?;
    }
    let result = run_as(&sudo, "apt-get", &["update", "-qq"]).and_then(|()| {
        let mut args = vec![
            "install",
            "-y",
            "--no-install-recommends",
            "-o",
            "DPkg::Lock::Timeout=300",
        ];
        args.extend(&missing);
        run_as(&sudo, "apt-get", &args)
    });
    if made_policy {
        let _ = run_as(&sudo, "rm", &["-f", POLICY_RC_D]);
    }
    result
}

fn run_as(sudo: &[&str], program: &str, args: &[&str]) -> Result {
    match sudo {
        [] => run(program, args),
        [s, ..] => {
            let mut all = vec![program];
            all.extend(args);
            run(s, &all)
        }
    }
}

/// Where `up` keeps its state: the env file, the pids, the data directory's path.
fn state_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("infra")
}

struct Started {
    pids: Vec<u32>,
    env: Vec<(String, String)>,
}

fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn spawn_detached(program: &str, args: &[String], log: &Path, pids: &mut Vec<u32>) -> Result {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group: it outlives `cargo xtask` and a Ctrl-C in this terminal.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("start {program}: {e}"))?;
    pids.push(child.id());
    Ok(())
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result {
    let deadline = Instant::now() + timeout;
    while !ready() {
        if Instant::now() >= deadline {
            return Err(format!("{what} not ready within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn etcd_healthy(ports: &[EtcdPorts]) -> bool {
    ports.iter().all(|p| {
        Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints=http://127.0.0.1:{}", p.client))
            .args(["--command-timeout=2s", "endpoint", "health"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn zk_serving(ports: &[ZkPorts]) -> bool {
    ports.iter().all(|p| {
        four_letter(SocketAddr::from(([127, 0, 0, 1], p.client)), "srvr")
            .is_ok_and(|s| s.contains("Mode: "))
    })
}

fn start_etcd(data: &Path, name: &str, ports: &[EtcdPorts], s: &mut Started) -> Result {
    let cluster: Vec<(String, EtcdPorts)> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{name}{}", i + 1), *p))
        .collect();
    for (member, p) in &cluster {
        let args = etcd_args(member, *p, &cluster, &data.join(member));
        spawn_detached(
            "etcd",
            &args,
            &data.join(format!("{member}.log")),
            &mut s.pids,
        )?;
    }
    wait_until(&format!("etcd {name}"), Duration::from_secs(60), || {
        etcd_healthy(ports)
    })
}

fn start_zookeeper(data: &Path, name: &str, ports: &[ZkPorts], s: &mut Started) -> Result {
    for id in 1..=ports.len() {
        let dir = data.join(format!("{name}{id}"));
        let args = zookeeper_setup(id, ports, &dir).map_err(|e| e.to_string())?;
        spawn_detached(
            "java",
            &args,
            &data.join(format!("{name}{id}.log")),
            &mut s.pids,
        )?;
    }
    wait_until(
        &format!("zookeeper {name}"),
        Duration::from_secs(90),
        || zk_serving(ports),
    )
}

fn start_redis(data: &Path, port: u16, s: &mut Started) -> Result {
    let args: Vec<String> = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--dir",
        &data.display().to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    spawn_detached("redis-server", &args, &data.join("redis.log"), &mut s.pids)?;
    wait_until("redis", Duration::from_secs(30), || !port_free(port))
}

/// Starts every server (after `install`); a no-op when they already run.
fn up() -> Result {
    let state = state_dir();
    if state.join("pids").exists() {
        eprintln!("infra: already up (`cargo xtask infra down` first to restart)");
        print_env(&state)?;
        return Ok(());
    }
    install()?;
    let etcd_single = [EtcdPorts {
        client: 23790,
        peer: 23800,
        metrics: 23810,
    }];
    let etcd_cluster: Vec<EtcdPorts> = (1..=3)
        .map(|i| EtcdPorts {
            client: 23790 + i,
            peer: 23800 + i,
            metrics: 23810 + i,
        })
        .collect();
    let zk_single = [ZkPorts {
        client: 21810,
        quorum: 21820,
        election: 21830,
    }];
    let zk_ensemble: Vec<ZkPorts> = (1..=3)
        .map(|i| ZkPorts {
            client: 21810 + i,
            quorum: 21820 + i,
            election: 21830 + i,
        })
        .collect();
    let redis = 16379;
    let busy: Vec<u16> = etcd_single
        .iter()
        .chain(&etcd_cluster)
        .flat_map(|p| [p.client, p.peer, p.metrics])
        .chain(
            zk_single
                .iter()
                .chain(&zk_ensemble)
                .flat_map(|p| [p.client, p.quorum, p.election]),
        )
        .chain([redis])
        .filter(|p| !port_free(*p))
        .collect();
    if !busy.is_empty() {
        return Err(format!(
            "infra: ports in use: {busy:?} (a previous `up`? run `cargo xtask infra down`)"
        ));
    }
    std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
    let data = std::env::temp_dir().join(format!("fastrpc-infra-{}", std::process::id()));
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    std::fs::write(state.join("data_dir"), data.display().to_string())
        .map_err(|e| e.to_string())?;
    let mut s = Started {
        pids: Vec::new(),
        env: Vec::new(),
    };
    let result = (|| {
        start_etcd(&data, "etcd", &etcd_single, &mut s)?;
        start_etcd(&data, "etcd-cluster-", &etcd_cluster, &mut s)?;
        start_zookeeper(&data, "zk", &zk_single, &mut s)?;
        start_zookeeper(&data, "zk-ensemble-", &zk_ensemble, &mut s)?;
        start_redis(&data, redis, &mut s)
    })();
    let pids: Vec<String> = s.pids.iter().map(u32::to_string).collect();
    std::fs::write(state.join("pids"), pids.join("\n")).map_err(|e| e.to_string())?;
    if let Err(e) = result {
        let _ = down();
        return Err(format!("{e} (logs were in {})", data.display()));
    }
    let hosts = |ports: &mut dyn Iterator<Item = u16>| {
        ports
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    s.env = vec![
        (
            "FASTRPC_ETCD".into(),
            format!(
                "etcd://{}/rpcx_test",
                hosts(&mut etcd_single.iter().map(|p| p.client))
            ),
        ),
        (
            "FASTRPC_ETCD_CLUSTER".into(),
            format!(
                "etcd://{}/rpcx_test",
                hosts(&mut etcd_cluster.iter().map(|p| p.client))
            ),
        ),
        (
            "FASTRPC_ZOOKEEPER".into(),
            format!(
                "zookeeper://{}/rpcx_test",
                hosts(&mut zk_single.iter().map(|p| p.client))
            ),
        ),
        (
            "FASTRPC_ZOOKEEPER_ENSEMBLE".into(),
            format!(
                "zookeeper://{}/rpcx_test",
                hosts(&mut zk_ensemble.iter().map(|p| p.client))
            ),
        ),
        (
            "FASTRPC_REDIS".into(),
            format!("redis://127.0.0.1:{redis}/rpcx_test"),
        ),
        ("FASTRPC_INFRA_DATA".into(), data.display().to_string()),
    ];
    let env: String = s.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(state.join("env"), env).map_err(|e| e.to_string())?;
    print_env(&state)
}

fn print_env(state: &Path) -> Result {
    let env = std::fs::read_to_string(state.join("env")).unwrap_or_default();
    println!("{env}");
    eprintln!(
        "infra: written to {} (`cargo xtask infra down` stops everything)",
        state.join("env").display()
    );
    Ok(())
}

/// Stops every server `up` started and removes their data.
fn down() -> Result {
    let state = state_dir();
    let pids = std::fs::read_to_string(state.join("pids")).unwrap_or_default();
    let pids: Vec<&str> = pids.lines().filter(|p| p.parse::<u32>().is_ok()).collect();
    if !pids.is_empty() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .args(&pids)
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        let alive = |pid: &&str| Path::new(&format!("/proc/{pid}")).exists() && !zombie(pid);
        while pids.iter().any(alive) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let left: Vec<&str> = pids.iter().copied().filter(|p| alive(p)).collect();
        if !left.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .args(&left)
                .stderr(Stdio::null())
                .status();
        }
    }
    if let Ok(data) = std::fs::read_to_string(state.join("data_dir")) {
        let data = PathBuf::from(data.trim());
        if data.starts_with(std::env::temp_dir()) {
            let _ = std::fs::remove_dir_all(&data);
        }
    }
    for f in ["pids", "env", "data_dir"] {
        let _ = std::fs::remove_file(state.join(f));
    }
    eprintln!("infra: down ({} processes stopped)", pids.len());
    Ok(())
}

fn zombie(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}
