//! The command line grammar (clap derive): subcommands and their flags.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

/// Call, load-test and inspect rpcx services (fastrpc and Go rpcx alike).
#[derive(Debug, Parser)]
#[command(name = "fastrpc", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Output format: human-readable text, or one JSON document for scripts.
    #[arg(long, short = 'o', value_enum, global = true, default_value_t = Output::Text)]
    pub(crate) output: Output,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Call one method and print the reply with its metadata.
    Call(CallArgs),
    /// Closed-loop load against one method, with a latency summary.
    Bench(BenchArgs),
    /// The servers a registry URL lists, their metadata, and whether each answers a heartbeat.
    List(ListArgs),
    /// A proxy printing every frame both ways, decoded (rpcxdump).
    Dump(DumpArgs),
    /// The services and methods a server offers, with argument and reply shapes (asked of
    /// its reflection service; Go rpcx's reflection plugin answers too).
    Describe(DescribeArgs),
    /// A web dashboard for a registry: servers, health, state and weight, calls from a form.
    Ui(UiArgs),
    /// Print a completion script for a shell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Where to call and how: shared by `call` and `bench`.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// `network@host:port` (or `host:port`) of one server, or a registry URL
    /// (`static://tcp@a:1,tcp@b:2`, `p2p://tcp@a:1`, `dns://name:port`, ...) to call
    /// through an XClient.
    pub(crate) target: String,
    /// `Service.Method` (the service path and method name, split at the last dot).
    pub(crate) method: String,
    /// The argument: JSON text, `@FILE` to read it from a file, or `-` for stdin. With
    /// `--serialize raw|protobuf` the bytes are sent as they are.
    #[arg(default_value = "null")]
    pub(crate) args: String,
    /// How the argument travels on the wire.
    #[arg(long, short = 's', value_enum, default_value_t = Serialize::Json)]
    pub(crate) serialize: Serialize,
    /// Request metadata `KEY=VALUE` (repeatable).
    #[arg(long = "meta", short = 'm', value_name = "KEY=VALUE", value_parser = parse_meta)]
    pub(crate) meta: Vec<(String, String)>,
    /// Auth token, sent as `__AUTH`.
    #[arg(long)]
    pub(crate) auth: Option<String>,
    /// Call deadline (`500ms`, `5s`), also sent to the server as `__ServerTimeout`.
    #[arg(long, short = 't', value_parser = humantime::parse_duration, default_value = "30s")]
    pub(crate) timeout: Duration,
    /// Gzip the request payload (rpcx compresses only payloads above 1024 bytes).
    #[arg(long)]
    pub(crate) gzip: bool,
    /// XClient select mode (registry URLs only).
    #[arg(long, value_enum, default_value_t = SelectModeArg::RoundRobin)]
    pub(crate) select_mode: SelectModeArg,
    /// XClient fail mode (registry URLs only).
    #[arg(long, value_enum, default_value_t = FailModeArg::Failfast)]
    pub(crate) fail_mode: FailModeArg,
    /// Only servers of this group (the `group` metadata key; registry URLs only).
    #[arg(long)]
    pub(crate) group: Option<String>,
}

/// `fastrpc call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// Target, method, argument and call settings.
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Send a oneway call: the server sends nothing back.
    #[arg(long)]
    pub(crate) oneway: bool,
}

/// `fastrpc bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Target, method, argument and call settings.
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Concurrent callers (closed loop: each waits for its reply before the next call).
    #[arg(long, short = 'c', default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Total calls to make.
    #[arg(long, short = 'n', conflicts_with = "duration")]
    pub(crate) requests: Option<u64>,
    /// Run for this long instead of a number of calls (`10s`).
    #[arg(long, short = 'd', value_parser = humantime::parse_duration)]
    pub(crate) duration: Option<Duration>,
    /// Hide the progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// `fastrpc list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// A registry URL (`static://tcp@a:1,tcp@b:2`, `p2p://tcp@a:1`, `dns://name:port`).
    pub(crate) registry: String,
    /// The service to list (registries keep servers per service); without it, every service
    /// of a registry that can list them (etcd, ZooKeeper, Redis) with its servers.
    pub(crate) service: Option<String>,
    /// How long each heartbeat may take.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    pub(crate) heartbeat_timeout: Duration,
}

/// `fastrpc describe`.
#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    /// `network@host:port` (or `host:port`) of the server.
    pub(crate) addr: String,
    /// Only this service.
    pub(crate) service: Option<String>,
    /// Auth token, sent as `__AUTH`.
    #[arg(long)]
    pub(crate) auth: Option<String>,
    /// Call deadline (`500ms`, `5s`).
    #[arg(long, short = 't', value_parser = humantime::parse_duration, default_value = "10s")]
    pub(crate) timeout: Duration,
}

/// `fastrpc dump`.
#[derive(Debug, Args)]
pub(crate) struct DumpArgs {
    /// Address to accept clients on (`127.0.0.1:9000`; port 0 picks one, printed on stderr).
    #[arg(long, requires = "upstream", conflicts_with = "pcap")]
    pub(crate) listen: Option<String>,
    /// The server to forward to (`tcp@host:port`).
    #[arg(long, requires = "listen")]
    pub(crate) upstream: Option<String>,
    /// Read a capture (pcap from tcpdump, pcapng from tshark) instead of proxying; TCP
    /// streams are reassembled.
    #[arg(long, value_name = "FILE")]
    pub(crate) pcap: Option<String>,
    /// With `--pcap`: only connections to or from this port.
    #[arg(long, requires = "pcap")]
    pub(crate) port: Option<u16>,
    /// Only frames of this `Service` or `Service.Method` (replies follow their requests).
    #[arg(long)]
    pub(crate) filter: Option<String>,
}

/// `fastrpc ui`.
#[derive(Debug, Args)]
pub(crate) struct UiArgs {
    /// The registry URL (`etcd://127.0.0.1:2379/rpcx_test`, `redis://127.0.0.1:6379/rpcx_test`,
    /// `zookeeper://...`, or a read-only `static://tcp@a:1,tcp@b:2`).
    #[arg(long)]
    pub(crate) registry: String,
    /// Address to serve the dashboard on; port 0 picks one. The URL is printed on stderr.
    /// There is no login: keep it on loopback or behind a proxy that authenticates.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    /// A service to show (repeatable), besides those the registry lists. Needed for
    /// registries that cannot list their services (static, p2p, dns, consul, mdns).
    #[arg(long = "service", value_name = "SERVICE")]
    pub(crate) services: Vec<String>,
    /// How long each heartbeat of the health column may take.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub(crate) heartbeat_timeout: Duration,
    /// Deadline of a call made from the page.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub(crate) call_timeout: Duration,
}

/// Wire serialization of the argument (`SerializeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Serialize {
    /// JSON (serialize type 1).
    Json,
    /// MessagePack (type 3): the JSON argument is converted, the reply converted back.
    Msgpack,
    /// Raw bytes (type 0): the argument's bytes as they are.
    Raw,
    /// Protobuf (type 2): the CLI does not know message types, so the argument is the
    /// encoded message's bytes (`@file.bin`) and the reply is shown as hex.
    Protobuf,
}

/// rpcx select modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SelectModeArg {
    /// Random.
    Random,
    /// Round robin.
    RoundRobin,
    /// Smooth weighted round robin (`weight` metadata).
    WeightedRoundRobin,
    /// Network quality (`ping` feature).
    WeightedIcmp,
    /// Consistent hash of service, method and argument.
    ConsistentHash,
    /// Closest by `latitude`/`longitude`.
    Closest,
}

/// rpcx fail modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailModeArg {
    /// Try another server on failure.
    Failover,
    /// Return the first failure.
    Failfast,
    /// Retry the same server.
    Failtry,
    /// Send a backup request when the first is slow.
    Failbackup,
}

fn parse_meta(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

impl TargetArgs {
    /// The service path and method name.
    pub(crate) fn service_method(&self) -> anyhow::Result<(&str, &str)> {
        match self.method.rsplit_once('.') {
            Some((s, m)) if !s.is_empty() && !m.is_empty() => Ok((s, m)),
            _ => anyhow::bail!("`{}` is not Service.Method", self.method),
        }
    }
}
