//! Redis registry for fastrpc, in rpcx's exact layout (`rpcx-protocol.md` §5.4), so that Go
//! rpcx servers and clients using `RedisRegisterPlugin` / `NewRedisDiscovery` and fastrpc
//! ones find each other.
//!
//! * [`RedisRegistrar`] (server side, implements [`Registrar`](fastrpc_discovery::Registrar))
//!   writes each service and refreshes its expiry;
//! * [`RedisDiscovery`] (client side, implements [`Discovery`](fastrpc_discovery::Discovery))
//!   lists and watches the servers of one service;
//! * [`registrar_from_url`] and [`discovery_from_url`] build them from a `redis://` URL.
//!
//! # Layout (copied from libkv's Redis store, quirks included)
//!
//! With base path `/rpcx_test`, service `Arith` and server `tcp@127.0.0.1:8972`:
//!
//! | Redis key | value (Go's `json.Marshal` of libkv's `KVPair`) | expiry |
//! |---|---|---|
//! | `//rpcx_test` | `{"Key":"/rpcx_test","Value":"cnBjeF9wYXRo","LastIndex":N}` | none |
//! | `//rpcx_test/Arith` | `{"Key":"/rpcx_test/Arith","Value":"QXJpdGg=","LastIndex":N}` | none |
//! | `//rpcx_test/Arith/tcp@127.0.0.1:8972` | `{"Key":"/rpcx_test/Arith/tcp@127.0.0.1:8972","Value":"<base64 of weight=..>","LastIndex":N}` | `ttl` |
//!
//! The key is `"/" + key` with no stripping (hence `//` for a base path with a leading
//! slash; `?base=rpcx_test` gives `/rpcx_test/...`). `Value` is the metadata in standard
//! base64; `LastIndex` is the nanosecond of the second of the write. Strings are escaped as
//! Go does (`&` as `\u0026`, ...). Both sides must use the same base path spelling, as with Go.
//!
//! The discovery lists with `SCAN MATCH {normalised dir}/*` and `MGET`, strips the directory
//! from each JSON `Key` (with or without a leading slash, as rpcx does) and watches with
//! `CONFIG SET notify-keyspace-events KEA` plus `PSUBSCRIBE __keyspace*:{normalised dir}/*`.
//! Unlike Go it ignores keys of sibling services whose names merely start with the service
//! name (`ArithX` when listing `Arith`), values that are not KVPairs, and it re-lists every
//! `resync` in case notifications are disabled or lost.
//!
//! # URL and options
//!
//! `redis://[[user]:password@]host:port[,host2:port]/base?db=0&interval=10s&ttl=20s`; see
//! [`RedisOptions`] for every option and its default. Hosts are tried in order on each
//! (re)connection (rpcx's store accepts only one).
//!
//! # Outages
//!
//! * Each `interval` the registrar renews every entry's expiry and writes back a missing one
//!   (an entry still there keeps its value, which rpcx-ui may have rewritten, as with Go's
//!   plugin); when a write fails it retries
//!   with backoff (100 ms doubling, at most 5 s) and writes everything as soon as Redis
//!   answers, so a restarted Redis that lost its data gets the entries back within one
//!   retry. Entries of a killed server expire after `ttl`.
//! * The discovery keeps its last list while Redis is unreachable and never publishes an
//!   empty list because a read failed; it reconnects with backoff and re-lists. When Redis
//!   comes back empty, it holds a non-empty list for up to `grace` before believing it.
//!
//! # Dependencies
//!
//! `redis` (1.x, `tokio-comp` + `aio`): the maintained Redis client, with multiplexed
//! connections and async pub/sub; `base64`: the standard base64 crate; `serde_json` to read
//! KVPair values (writing is by hand, to match Go's escaping byte for byte).

mod conn;
mod discovery;
mod layout;
mod options;
mod registrar;

pub use discovery::RedisDiscovery;
pub use options::RedisOptions;
pub use registrar::RedisRegistrar;

use fastrpc_discovery::{RegistryError, RegistryUrl};

/// The discovery of `service_path` for a `redis://` URL (the facade's `from_url` calls it).
pub async fn discovery_from_url(
    url: &RegistryUrl,
    service_path: &str,
) -> Result<RedisDiscovery, RegistryError> {
    RedisDiscovery::connect(RedisOptions::from_url(url)?, service_path).await
}

/// The registrar for a `redis://` URL (the facade's `from_url` calls it). Connects lazily.
pub async fn registrar_from_url(url: &RegistryUrl) -> Result<RedisRegistrar, RegistryError> {
    RedisRegistrar::new(RedisOptions::from_url(url)?)
}
