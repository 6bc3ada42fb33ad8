#![doc = include_str!("../../../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The rpcx wire protocol: messages, header flags, metadata, limits, errors (`fastrpc-core`).
pub mod protocol {
    pub use fastrpc_core::*;
}

/// Payload codecs (`fastrpc-codec`).
pub mod codec {
    pub use fastrpc_codec::*;
}

/// The server (`fastrpc-server`).
pub mod server {
    pub use fastrpc_server::*;
}

/// The single-connection client (`fastrpc-client`).
pub mod client {
    pub use fastrpc_client::*;
}

/// Service discovery, load balancing and fault tolerance over many servers (`fastrpc-xclient`).
pub mod xclient {
    pub use fastrpc_xclient::*;
}

mod registry_url;

/// Service discovery: the [`Discovery`](discovery::Discovery) trait, server entries, the
/// registry-free discoveries, and [`from_url`](discovery::from_url) (`fastrpc-discovery`).
pub mod discovery {
    pub use crate::registry_url::discovery_from_url as from_url;
    pub use fastrpc_discovery::*;
}

/// Publishing services in a registry: [`from_url`](registry::from_url) gives a
/// [`Registrar`](registry::Registrar), and [`RegistrarPlugin`](registry::RegistrarPlugin)
/// drives it from a server.
pub mod registry {
    pub use crate::registry_url::registrar_from_url as from_url;
    pub use fastrpc_discovery::{MemoryRegistry, Registrar, RegistryError, RegistryUrl};
    pub use fastrpc_server::RegistrarPlugin;

    /// Consul KV in rpcx's layout, or the service catalog (`fastrpc-registry-consul`).
    #[cfg(feature = "consul")]
    pub use fastrpc_registry_consul as consul;
    /// etcd v3, in rpcx's layout (`fastrpc-registry-etcd`).
    #[cfg(feature = "etcd")]
    pub use fastrpc_registry_etcd as etcd;
    /// mDNS on the local link (`fastrpc-registry-mdns`).
    #[cfg(feature = "mdns")]
    pub use fastrpc_registry_mdns as mdns;
    /// Redis, in rpcx's layout (`fastrpc-registry-redis`).
    #[cfg(feature = "redis")]
    pub use fastrpc_registry_redis as redis;
    /// ZooKeeper, in rpcx's layout (`fastrpc-registry-zookeeper`).
    #[cfg(feature = "zookeeper")]
    pub use fastrpc_registry_zookeeper as zookeeper;
}

/// Governance and observability plugins (`fastrpc-plugins`): rate limits (feature
/// `ratelimit`), access lists (feature `acl`), aliases (feature `alias`), tower layers
/// (feature `tower`), metrics (feature `metrics`) and OpenTelemetry tracing (feature `otel`).
/// See `docs/PLUGINS.md`.
#[cfg(any(
    feature = "ratelimit",
    feature = "acl",
    feature = "alias",
    feature = "metrics",
    feature = "otel",
    feature = "tower"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "ratelimit",
        feature = "acl",
        feature = "alias",
        feature = "metrics",
        feature = "otel",
        feature = "tower"
    )))
)]
pub mod plugins {
    /// Allow and deny lists of IPs and CIDR ranges (feature `acl`).
    #[cfg(feature = "acl")]
    pub use fastrpc_plugins::acl;
    /// Methods served under alias names (feature `alias`).
    #[cfg(feature = "alias")]
    pub use fastrpc_plugins::alias;
    /// tower layers around handlers (feature `tower`).
    #[cfg(feature = "tower")]
    pub use fastrpc_plugins::layer;
    /// Prometheus metrics for servers and clients (feature `metrics`).
    #[cfg(feature = "metrics")]
    pub use fastrpc_plugins::metrics;
    /// OpenTelemetry server and client spans (feature `otel`).
    #[cfg(feature = "otel")]
    pub use fastrpc_plugins::otel;
    /// Token buckets on accepts, requests and client calls (feature `ratelimit`).
    #[cfg(feature = "ratelimit")]
    pub use fastrpc_plugins::ratelimit;
}

/// rpcx's reserved services for files and streams (`fastrpc-filetransfer`, feature
/// `filetransfer`): `_filetransfer` uploads and downloads and `_streamservice` raw streams, by
/// single-use token on a side TCP listener. See `docs/FILETRANSFER.md`.
#[cfg(feature = "filetransfer")]
#[cfg_attr(docsrs, doc(cfg(feature = "filetransfer")))]
pub mod filetransfer {
    pub use fastrpc_filetransfer::*;
}

/// Byte-stream plumbing, TCP, and the `network@addr` registry (`fastrpc-transport`):
/// [`transport::network`] picks the transport of `Server::serve` and `Client::connect` from the
/// address, and lets users register their own. The optional transports (features `quic`,
/// `kcp`, `ws`, `http`, `tls`, `reuseport`) are registered as soon as they are compiled in: the registry is built on
/// first use, with no global constructor and nothing to call first.
pub mod transport {
    pub use fastrpc_transport::*;
}

/// TLS on TCP (feature `tls`): certificates ([`tls::ServerTls`], [`tls::ClientTls`], the
/// development mode's [`tls::DevCert`]) for `Server::builder().tls(..)`,
/// `ClientOptions::tls(..)` and the `tls@host:port` network.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use fastrpc_transport::network::tls;

/// rpcx's HTTP gateway, JSON-RPC 2.0 and CONNECT tunnelling (`fastrpc-transport-http`,
/// feature `http`). `http@host:port` itself works through `Server::serve` and
/// `Client::connect`.
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use fastrpc_transport_http as http;

/// An alternative global allocator for server binaries (feature `mimalloc`).
///
/// mimalloc rather than jemalloc: it builds from a small C source with `cc` alone (jemalloc
/// needs autoconf and a longer build), runs on every platform Rust's tier 1 covers (jemalloc
/// does not build for MSVC). Measured here (docs/BENCHMARKS.md), it matches the system
/// allocator's throughput but by default **keeps** the memory of a spike (2.4 GiB after
/// 1,000 connections of 1 MiB calls had closed, against 76 MiB with glibc);
/// `MIMALLOC_PURGE_DELAY=0` returns most of it (155 MiB). Hence opt-in. A library must not
/// choose the allocator, so nothing here installs it; a binary does:
///
/// ```
/// #[global_allocator]
/// static GLOBAL: fastrpc::alloc::MiMalloc = fastrpc::alloc::MiMalloc;
/// # fn main() {}
/// ```
#[cfg(feature = "mimalloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "mimalloc")))]
pub mod alloc {
    pub use mimalloc::MiMalloc;
}

/// Turns an `impl` block of async methods into a service; see `fastrpc-macros`.
#[cfg(feature = "macros")]
pub use fastrpc_macros::service;

pub use fastrpc_client::{
    Call, CallOptions, Client, ClientError, ClientOptions, ErrorKind, Push, PushReceiver,
    RemoteError, Reply,
};
pub use fastrpc_codec::{Payload, Proto, Raw};
pub use fastrpc_core::{CompressType, Message, Metadata, SerializeType};
pub use fastrpc_server::{
    Connection, Context, Server, ServerHandle, ServerOptions, ServerPlugin, ServiceError,
};
pub use fastrpc_xclient::{
    Discovery, FailMode, MultipleServersDiscovery, Peer2PeerDiscovery, SelectMode, ServerEntry,
    XClient, XClientError, XClientOptions,
};

/// The `bytes` crate, whose `Bytes` carries raw payloads and pushes.
pub use bytes;
/// The `schemars` crate, for `#[derive(JsonSchema)]` on the types of `#[service(schema)]`
/// (feature `schema`).
#[cfg(feature = "schema")]
pub use fastrpc_server::reflection::schemars;
/// The `prost` crate, for the messages inside [`Proto`].
#[cfg(feature = "protobuf")]
pub use prost;

/// The Rust snippets of `docs/*.md`, compiled as doctests so that they cannot rot (README.md
/// is the crate documentation above, compiled the same way).
#[cfg(doctest)]
mod doc_snippets {
    #[doc = include_str!("../../../docs/ARCHITECTURE.md")]
    struct Architecture;
    #[doc = include_str!("../../../docs/BENCHMARKS.md")]
    struct Benchmarks;
    #[doc = include_str!("../../../docs/PROTOCOL.md")]
    struct Protocol;
    #[doc = include_str!("../../../docs/REGISTRIES.md")]
    struct Registries;
    /// Compiled with `schema` on: `cargo test -p fastrpc --features schema --doc`.
    #[cfg(feature = "schema")]
    #[doc = include_str!("../../../docs/REFLECTION.md")]
    struct Reflection;
    #[doc = include_str!("../../../docs/TESTING.md")]
    struct Testing;
    #[doc = include_str!("../../../docs/XCLIENT.md")]
    struct XClient;
    /// Compiled with the plugin features on: `cargo test -p fastrpc --features full --doc`.
    #[cfg(all(
        feature = "ratelimit",
        feature = "acl",
        feature = "alias",
        feature = "metrics",
        feature = "otel",
        feature = "tower",
        feature = "http"
    ))]
    #[doc = include_str!("../../../docs/PLUGINS.md")]
    struct Plugins;
    /// Compiled with the `filetransfer` feature on.
    #[cfg(feature = "filetransfer")]
    #[doc = include_str!("../../../docs/FILETRANSFER.md")]
    struct FileTransfer;
}
