//! etcd v3 registry for fastrpc, in rpcx's exact key layout (`rpcxio/rpcx-etcd`).
//!
//! Two halves, interchangeable with Go rpcx peers using the same etcd and base path:
//!
//! * [`EtcdRegistrar`] (server side, driven by `fastrpc_server::RegistrarPlugin`) publishes
//!   each service of a server;
//! * [`EtcdDiscovery`] (client side, feeding the XClient) lists and watches the servers of
//!   one service.
//!
//! # Layout (`rpcx-protocol.md` §5.1)
//!
//! Keys are used **verbatim**: with base path `/rpcx_test`, service `Arith` and server
//! `tcp@127.0.0.1:8972` the registrar puts
//!
//! | key | value |
//! |---|---|
//! | `/rpcx_test` | `rpcx_path` |
//! | `/rpcx_test/Arith` | `Arith` |
//! | `/rpcx_test/Arith/tcp@127.0.0.1:8972` | the metadata, e.g. `weight=10&group=g1` |
//!
//! all attached to the registrar's single lease. With base path `rpcx_test` (no slash,
//! `?base=rpcx_test` in a URL) the keys have no leading slash. The discovery does a prefix
//! `Get` of `{base}/{service}`, skips the directory key and keys not under `{dir}/`, and
//! takes the rest of each key as the server key, working out the prefix with or without
//! the leading `/` exactly as Go's `EtcdV3Discovery` does.
//!
//! # Options
//!
//! `etcd://[user:password@]h1:2379,h2:2379[/base][?option=value&...]`, see
//! [`EtcdOptions::from_url`]: `ttl` (lease TTL, 30 s), `interval` (refresh, 10 s),
//! `timeout` (per request, 5 s), `resync` (discovery re-list, 30 s), `base`.
//!
//! # Outages
//!
//! * The discovery keeps its last list while etcd is unreachable and never publishes an
//!   empty list because a read failed; it watches again with backoff (100 ms to 3 s) and
//!   lists as soon as etcd answers.
//! * The registrar keeps its lease alive with a keep-alive every third of the TTL. If etcd
//!   is unreachable for less than the TTL the lease (and the entries) survive; once etcd
//!   reports the lease gone, a new lease is granted with backoff (200 ms to 3 s) and every
//!   entry is put again. Every `interval` it also puts back any entry deleted behind its
//!   back (Go's refresh).
//! * A crashed server (registrar dropped without [`close`](fastrpc_discovery::Registrar::close))
//!   disappears when its lease expires, after at most the TTL.
//!
//! # Bounds
//!
//! Every etcd request has a deadline ([`EtcdOptions::timeout`]); a response is limited to
//! tonic's default of 4 MiB (a listing larger than that fails and the last list stays).
//! The registrar holds one entry per registered service.
//!
//! # Dependencies
//!
//! `etcd-client` is the maintained async etcd v3 client for tokio (tonic gRPC, lazy
//! connection that reconnects by itself, leases, keep-alive streams and watches); it needs
//! `protoc` at build time (Debian `protobuf-compiler`, installed by `cargo xtask infra
//! install`).

mod backoff;
mod discovery;
mod error;
mod layout;
mod options;
mod registrar;

pub use discovery::EtcdDiscovery;
pub use layout::{BASE_PATH_VALUE, discovery_dir, server_entry_key, server_key_of, service_key};
pub use options::EtcdOptions;
pub use registrar::EtcdRegistrar;

use fastrpc_discovery::{RegistryError, RegistryUrl};

/// The discovery of `service_path` from an `etcd://` URL (the facade's `from_url` calls it).
pub async fn discovery_from_url(
    url: &RegistryUrl,
    service_path: &str,
) -> Result<EtcdDiscovery, RegistryError> {
    EtcdDiscovery::connect(EtcdOptions::from_url(url)?, service_path).await
}

/// A registrar from an `etcd://` URL (the facade's `from_url` calls it).
pub async fn registrar_from_url(url: &RegistryUrl) -> Result<EtcdRegistrar, RegistryError> {
    EtcdRegistrar::connect(EtcdOptions::from_url(url)?).await
}
