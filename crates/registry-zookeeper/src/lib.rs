//! ZooKeeper registry for fastrpc, in rpcx's exact znode layout (`rpcxio/rpcx-zookeeper`
//! over libkv's ZooKeeper store).
//!
//! Two halves, interchangeable with Go rpcx peers using the same ensemble and base path:
//!
//! * [`ZkRegistrar`] (server side, driven by `fastrpc_server::RegistrarPlugin`) publishes
//!   each service of a server;
//! * [`ZkDiscovery`] (client side, feeding the XClient) lists and watches the servers of one
//!   service.
//!
//! # Layout (`rpcx-protocol.md` §5.2)
//!
//! The base path loses **one** leading `/` (Go's plugin and discovery strip it), then every
//! key becomes `"/" + key` (libkv's normalisation); so `/rpcx_test` and `rpcx_test` both
//! give
//!
//! | znode | kind | data |
//! |---|---|---|
//! | `/rpcx_test` | persistent | `rpcx_path` |
//! | `/rpcx_test/Arith` | persistent | `Arith` |
//! | `/rpcx_test/Arith/tcp@127.0.0.1:8972` | ephemeral (persistent when `interval=0`) | the metadata, e.g. `weight=10&group=g1` |
//!
//! with ACL `world:anyone` (all permissions). Missing ancestors of a multi-segment base path
//! are created with empty data, as libkv does. The discovery lists the children of
//! `/{base}/{service}`; each child's name is a server key and its data the metadata.
//!
//! # Options
//!
//! `zookeeper://[user:password@]h1:2181,h2:2181[/base][?option=value&...]` (or `zk://`),
//! see [`ZkOptions::from_url`]: `ttl` (session timeout, 10 s), `interval` (refresh, 10 s;
//! `0` = persistent leaves), `timeout` (per request, 5 s), `resync` (discovery re-list,
//! 30 s), `base`. A user name and password authenticate with the `digest` scheme.
//!
//! # Outages
//!
//! * The client library reconnects to any server of the ensemble within the session; the
//!   session (and the ephemeral leaves) survive as long as a server is reached again within
//!   the session timeout, including a restart of a standalone server, which restores its
//!   sessions from disk.
//! * The discovery keeps its last list while ZooKeeper is unreachable and never publishes
//!   an empty list because a read failed. It watches the children (as Go does) **and** the
//!   data of each child (Go does not: a metadata change is noticed at once here, at the next
//!   child change or re-list in Go), and lists again every `resync`.
//! * The registrar re-creates any missing leaf every `interval` (Go's refresh). When its
//!   session expires it opens a new one with backoff (200 ms to 3 s) and writes every
//!   entry again; a stale ephemeral leaf of an old session is deleted and created anew.
//! * A crashed server's ephemeral leaves disappear when its session times out.
//!
//! # Bounds
//!
//! Every ZooKeeper request has a deadline ([`ZkOptions::timeout`]); ZooKeeper itself limits
//! a znode's data and a children listing to its `jute.maxbuffer` (1 MiB by default). A
//! discovery holds one data watch per listed child; dropped watches are removed.
//!
//! # Dependencies
//!
//! `zookeeper-client` is a maintained pure-Rust async ZooKeeper client (no C library, no
//! JVM) on tokio: sessions with reconnection across the ensemble, ephemeral nodes, one-shot
//! watches that are removed when dropped. `futures-util` waits on many watches at once.

mod discovery;
mod error;
mod layout;
mod options;
mod registrar;

pub use discovery::ZkDiscovery;
pub use layout::{BASE_PATH_VALUE, base_node, normalize, server_node, service_node, strip_base};
pub use options::ZkOptions;
pub use registrar::ZkRegistrar;

use fastrpc_discovery::{RegistryError, RegistryUrl};

/// The discovery of `service_path` from a `zookeeper://` URL (the facade's `from_url`
/// calls it).
pub async fn discovery_from_url(
    url: &RegistryUrl,
    service_path: &str,
) -> Result<ZkDiscovery, RegistryError> {
    ZkDiscovery::connect(ZkOptions::from_url(url)?, service_path).await
}

/// A registrar from a `zookeeper://` URL (the facade's `from_url` calls it).
pub async fn registrar_from_url(url: &RegistryUrl) -> Result<ZkRegistrar, RegistryError> {
    ZkRegistrar::connect(ZkOptions::from_url(url)?).await
}
