//! The seam between fastrpc and service registries.
//!
//! This crate is small on purpose: a registry crate (etcd, ZooKeeper, Consul, Redis, mDNS)
//! depends on it, not on the XClient. It holds:
//!
//! * [`Discovery`]: the client side of a registry, a watched list of [`ServerEntry`]s (the
//!   `network@addr` key and the metadata query rpcx stores), consumed by the XClient;
//! * [`Registrar`]: the server side, which publishes a server's services in rpcx's layout
//!   (the server's `RegistrarPlugin` drives it);
//! * [`RegistryUrl`]: a registry chosen by a URL from configuration
//!   (`etcd://h1:2379,h2:2379/rpcx_test`), so registries swap without code changes;
//! * the discoveries that need no registry (`rpcx-protocol.md` §5.6):
//!   [`Peer2PeerDiscovery`] (one fixed server), [`MultipleServersDiscovery`] (a list the
//!   program updates at run time) and [`DnsDiscovery`] (a DNS name resolved periodically),
//!   with [`builtin_discovery`] building them from `p2p://`, `static://` and `dns://` URLs;
//! * [`MemoryRegistry`]: both sides of a registry held in the process, for tests and
//!   single-binary deployments.
//!
//! It is **not** a client, a load balancer or a registry backend: filtering (inactive
//! servers, groups), selection and connections are the XClient's.
//!
//! # Writing a registry crate
//!
//! A registry crate exposes a discovery (implementing [`Discovery`], keeping the last known
//! list while the registry is unreachable) and a registrar (implementing [`Registrar`],
//! refreshing its entries and re-writing them when the registry comes back), plus two
//! constructors the facade's `from_url` calls:
//! `discovery_from_url(&RegistryUrl, service_path)` and `registrar_from_url(&RegistryUrl)`.

mod backoff;
mod discovery;
mod dns;
mod entry;
mod error;
mod from_url;
mod memory;
mod query;
mod registrar;
mod static_list;
mod url;

pub use backoff::Backoff;
pub use discovery::{Discovery, ServerList};
pub use dns::DnsDiscovery;
pub use entry::ServerEntry;
pub use error::RegistryError;
pub use from_url::{builtin_discovery, feature_disabled, feature_for_scheme};
pub use memory::{MemoryDiscovery, MemoryRegistry};
pub use query::{query_escape, query_unescape};
pub use registrar::{BoxFuture, Registrar};
pub use static_list::{MultipleServersDiscovery, Peer2PeerDiscovery};
pub use url::{DEFAULT_BASE_PATH, RegistryUrl, parse_duration};
