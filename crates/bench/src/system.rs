//! The systems under test, the workloads, and one caller type that drives any of them.

use crate::message::{BenchmarkMessage, PAYLOAD_LEN, is_reply, opaque_payload, prepare_message};
use crate::{bare, tarpc_system, tonic_system};
use anyhow::{anyhow, bail};
use bytes::Bytes;
use fastrpc_codec::Proto;
use futures_util::{StreamExt, TryStreamExt};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

/// An RPC system the benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    /// The bare tokio length-prefixed echo: the cost of loopback and syscalls alone.
    Bare,
    /// fastrpc over TCP.
    Fastrpc,
    /// tarpc 0.38 with the bincode transport.
    Tarpc,
    /// tonic 0.14, one HTTP/2 channel shared by all callers.
    Tonic,
    /// tonic 0.14, callers spread over [`TONIC_MULTI_CHANNELS`] channels.
    TonicMulti,
}

/// How many channels `tonic-multi` opens.
pub const TONIC_MULTI_CHANNELS: usize = 4;

impl System {
    /// Every system, in report order.
    pub const ALL: [System; 5] = [
        System::Fastrpc,
        System::Bare,
        System::Tarpc,
        System::Tonic,
        System::TonicMulti,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            System::Bare => "bare",
            System::Fastrpc => "fastrpc",
            System::Tarpc => "tarpc",
            System::Tonic => "tonic",
            System::TonicMulti => "tonic-multi",
        }
    }

    /// Whether this system runs `workload`.
    pub fn supports(self, workload: Workload) -> bool {
        match self {
            System::Bare | System::Tarpc => workload == Workload::Opaque,
            System::Fastrpc | System::Tonic | System::TonicMulti => true,
        }
    }

    /// How many connections the callers share, given the requested default.
    pub fn connections(self, requested: usize) -> usize {
        match self {
            System::TonicMulti => requested.max(TONIC_MULTI_CHANNELS),
            _ => requested.max(1),
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for System {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<System> {
        System::ALL
            .into_iter()
            .find(|sys| sys.name() == s)
            .ok_or_else(|| {
                anyhow!("unknown system {s:?} (known: bare, fastrpc, tarpc, tonic, tonic-multi)")
            })
    }
}

/// What each call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// 581 opaque bytes echoed back (rpcx serialize type none).
    Opaque,
    /// rpcx-benchmark's protobuf `BenchmarkMessage` (581 bytes), `Hello.Say`.
    Proto,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 2] = [Workload::Opaque, Workload::Proto];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Opaque => "opaque",
            Workload::Proto => "proto",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Workload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| anyhow!("unknown workload {s:?} (known: opaque, proto)"))
    }
}

/// Starts `system`'s server for `workload` on `addr` in the current tokio runtime and returns
/// the bound address.
pub async fn serve(system: System, workload: Workload, addr: &str) -> anyhow::Result<SocketAddr> {
    if !system.supports(workload) {
        bail!("{system} does not run the {workload} workload");
    }
    match system {
        System::Bare => bare::serve(addr).await,
        System::Tarpc => tarpc_system::serve(addr).await,
        System::Tonic | System::TonicMulti => tonic_system::serve(addr).await,
        System::Fastrpc => crate::fastrpc_system::serve(addr).await,
    }
}

#[derive(Clone)]
enum Conn {
    Bare(bare::Client),
    Tarpc(tarpc_system::Client),
    Tonic(tonic_system::Client),
    Fastrpc(crate::fastrpc_system::Client),
}

/// Connections opened at the same time by [`Connections::open`].
const OPEN_PARALLELISM: usize = 32;

impl Conn {
    async fn connect(system: System, addr: SocketAddr) -> anyhow::Result<Conn> {
        Ok(match system {
            System::Bare => Conn::Bare(bare::Client::connect(addr).await?),
            System::Tarpc => Conn::Tarpc(tarpc_system::Client::connect(addr).await?),
            System::Tonic | System::TonicMulti => {
                Conn::Tonic(tonic_system::Client::connect(addr).await?)
            }
            System::Fastrpc => Conn::Fastrpc(crate::fastrpc_system::Client::connect(addr).await?),
        })
    }
}

/// The request data every caller shares.
struct Requests {
    opaque: Bytes,
    proto: Proto<BenchmarkMessage>,
}

/// Something that makes one call of the workload. Cloning is cheap and keeps the connection.
#[derive(Clone)]
pub struct Caller {
    conn: Conn,
    workload: Workload,
    requests: Arc<Requests>,
}

/// A set of open connections to one server.
pub struct Connections {
    callers: Vec<Caller>,
}

impl Connections {
    /// Opens `count` connections of `system` to `addr`.
    pub async fn open(
        system: System,
        workload: Workload,
        addr: SocketAddr,
        count: usize,
    ) -> anyhow::Result<Connections> {
        if !system.supports(workload) {
            bail!("{system} does not run the {workload} workload");
        }
        let requests = Arc::new(Requests {
            opaque: opaque_payload(),
            proto: Proto(prepare_message()),
        });
        // Opened a few at a time: thousands one after another take long, all at once overflow
        // the listen backlog.
        let conns: Vec<Conn> = futures_util::stream::iter(0..count.max(1))
            .map(|_| Conn::connect(system, addr))
            .buffered(OPEN_PARALLELISM)
            .try_collect()
            .await?;
        let callers = conns
            .into_iter()
            .map(|conn| Caller {
                conn,
                workload,
                requests: Arc::clone(&requests),
            })
            .collect();
        Ok(Connections { callers })
    }

    /// A caller on connection `i % count`.
    pub fn caller(&self, i: usize) -> Caller {
        self.callers[i % self.callers.len()].clone()
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.callers.len()
    }

    /// Whether no connection is open (never true after [`Connections::open`]).
    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }
}

impl Caller {
    /// Makes one call and checks the reply.
    pub async fn call(&mut self) -> anyhow::Result<()> {
        let req = &*self.requests;
        match (&mut self.conn, self.workload) {
            (Conn::Bare(c), Workload::Opaque) => check_len(c.call(&req.opaque).await?),
            (Conn::Tarpc(c), Workload::Opaque) => check_len(c.call(req.opaque.clone()).await?),
            (Conn::Tonic(c), Workload::Opaque) => check_len(c.echo(req.opaque.clone()).await?),
            (Conn::Tonic(c), Workload::Proto) => check_reply(&c.say(req.proto.0.clone()).await?),
            (Conn::Fastrpc(c), Workload::Opaque) => check_len(c.echo(&req.opaque).await?),
            (Conn::Fastrpc(c), Workload::Proto) => check_reply(&c.say(&req.proto).await?),
            (_, w) => bail!("workload {w} is not supported here"),
        }
    }
}

impl Caller {
    /// Echoes `payload` (any size) through the system's opaque echo method and checks that
    /// the same number of bytes came back.
    pub async fn echo(&mut self, payload: &Bytes) -> anyhow::Result<()> {
        let reply = match &mut self.conn {
            Conn::Bare(c) => c.call(payload).await?,
            Conn::Tarpc(c) => c.call(payload.clone()).await?,
            Conn::Tonic(c) => c.echo(payload.clone()).await?,
            Conn::Fastrpc(c) => c.echo(payload).await?,
        };
        if reply.len() != payload.len() {
            bail!(
                "echo of {} bytes came back with {}",
                payload.len(),
                reply.len()
            );
        }
        Ok(())
    }
}

fn check_len(reply: Bytes) -> anyhow::Result<()> {
    if reply.len() != PAYLOAD_LEN {
        bail!("echo came back with {} bytes", reply.len());
    }
    Ok(())
}

fn check_reply(reply: &BenchmarkMessage) -> anyhow::Result<()> {
    if !is_reply(reply) {
        bail!(
            "Hello.Say reply has field1 {:?}, field2 {}",
            reply.field1,
            reply.field2
        );
    }
    Ok(())
}
