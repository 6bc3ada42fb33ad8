//! The fastrpc XClient: one service over many servers, with service discovery, load
//! balancing, fail modes, circuit breakers and resilient connections (rpcx's `XClient`).
//!
//! A [`Client`] of `fastrpc-client` is one multiplexed connection to one server. An
//! [`XClient`] sits on top: it follows a [`Discovery`] (a registry, a DNS name, a fixed list),
//! keeps one cached connection per server, picks a server for each call with a
//! [`Selector`], and decides with its [`FailMode`] what to do when that server fails. It is
//! **not** a transport or a registry: registries live in their own crates and implement
//! [`Discovery`]; connections are `fastrpc-client`'s.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fastrpc_xclient::{FailMode, MultipleServersDiscovery, SelectMode, ServerEntry, XClient,
//!     XClientOptions};
//!
//! # async fn demo() -> Result<(), fastrpc_xclient::XClientError> {
//! let discovery = MultipleServersDiscovery::new([
//!     ServerEntry::new("tcp@10.0.0.1:8972", "weight=3"),
//!     ServerEntry::new("tcp@10.0.0.2:8972", "weight=1"),
//! ]);
//! let xc = XClient::new(
//!     "Arith",
//!     FailMode::Failover,
//!     SelectMode::WeightedRoundRobin,
//!     Arc::new(discovery.clone()),
//!     XClientOptions::default(),
//! )?;
//! let product: i64 = xc.call("Mul", &(7, 8)).await?;
//! # let _ = product;
//! // Take a server out of rotation at run time; the client follows.
//! discovery.update([
//!     ServerEntry::new("tcp@10.0.0.1:8972", "weight=3&state=inactive"),
//!     ServerEntry::new("tcp@10.0.0.2:8972", "weight=1"),
//! ]);
//! # Ok(()) }
//! ```
//!
//! # Fail modes: which one when
//!
//! Retrying is not free. A retry doubles the load a failing request puts on the system, and
//! a retry of a request that *did* run (a timeout) may run it twice. So every mode here
//! retries only what is safe and useful to retry: **connection-level failures** (connect
//! refused, connection reset, a server draining for shutdown). An error reply of the service
//! is an answer, not a failure of the server, and is never retried; neither is the caller's
//! deadline: once it has passed, nobody is waiting for the answer. A deadline set per call
//! ([`CallOptions::timeout`]) bounds the whole call, retries included, and each attempt tells
//! the server what is left of it (`__ServerTimeout`).
//!
//! | mode | attempts | pick it when |
//! |---|---|---|
//! | [`FailMode::Failover`] (0) | up to `retries + 1`, each on a server not yet tried | the default: calls are idempotent or failed before they ran, and any server will do |
//! | [`FailMode::Failfast`] (1) | one | the caller has its own retry logic, or a fast failure is worth more than a late success |
//! | [`FailMode::Failtry`] (2) | up to `retries + 1`, same server, reconnecting | the server choice matters (consistent hashing onto a cache) and blips are short |
//! | [`FailMode::Failbackup`] (3) | a second request to another server after `backup_latency` | tail latency matters more than load: the backup doubles the work of every slow call |
//!
//! ```no_run
//! # use std::sync::Arc; use std::time::Duration;
//! # use fastrpc_xclient::*;
//! # async fn demo(d: Arc<dyn Discovery>) -> Result<(), XClientError> {
//! // Failover: 2 retries, 20 ms apart, within a 1 s deadline for the whole call.
//! let opts = XClientOptions::default().retries(2).retry_interval(Duration::from_millis(20));
//! let xc = XClient::new("Arith", FailMode::Failover, SelectMode::RoundRobin, d.clone(), opts)?;
//! let reply = xc
//!     .call_with::<_, i64>("Mul", &(7, 8), CallOptions::default().timeout(Duration::from_secs(1)))
//!     .await?;
//! # let _ = reply;
//!
//! // Failfast: one attempt; the error says which server failed and why.
//! let xc = XClient::new("Arith", FailMode::Failfast, SelectMode::Random, d.clone(),
//!     XClientOptions::default())?;
//! if let Err(e) = xc.call::<_, i64>("Mul", &(7, 8)).await {
//!     eprintln!("{:?} failed: {e} (service error: {})", e.server(), e.is_service_error());
//! }
//!
//! // Failtry: stick to the server the hash chose, reconnecting up to 3 times.
//! let xc = XClient::new("Cache", FailMode::Failtry, SelectMode::ConsistentHash, d.clone(),
//!     XClientOptions::default())?;
//! let _v: String = xc.call("Get", &"user:42".to_owned()).await?;
//!
//! // Failbackup: if no answer within 15 ms, ask another server too; first answer wins.
//! let opts = XClientOptions::default().backup_latency(Duration::from_millis(15));
//! let xc = XClient::new("Search", FailMode::Failbackup, SelectMode::Random, d, opts)?;
//! let _hits: Vec<String> = xc.call("Query", &"rust".to_owned()).await?;
//! # Ok(()) }
//! ```
//!
//! Besides `call`, every client has the rpcx call styles that ignore the fail mode:
//! [`fork`](XClient::fork) (every server, first success wins: the strongest tail-latency
//! cure, at n times the load), [`broadcast`](XClient::broadcast) (every server must succeed,
//! e.g. to invalidate caches), [`inform`](XClient::inform) (every server's outcome as a
//! [`Receipt`]) and [`oneshot`](XClient::oneshot) (a oneway request to one server).
//!
//! # Selectors: which one when
//!
//! | mode | pick it when |
//! |---|---|
//! | [`SelectMode::Random`] (0) | servers are alike; stateless, so many clients together spread evenly |
//! | [`SelectMode::RoundRobin`] (1) | servers are alike and one client's load should be exactly even |
//! | [`SelectMode::WeightedRoundRobin`] (2) | servers differ in capacity: give each a `weight=` in its metadata |
//! | [`SelectMode::WeightedIcmp`] (3) | servers are far apart on networks of varying quality (feature `ping`; measures TCP connect time, see [`selector::WeightedIcmp`]) |
//! | [`SelectMode::ConsistentHash`] (4) | equal requests should reach the same server (local caches, sharded state) |
//! | [`SelectMode::Closest`] (5) | servers carry `latitude`/`longitude`; set the client's own with [`XClientOptions::position`] |
//! | [`SelectMode::SelectByUser`] (1000) | anything else: implement [`Selector`] and use [`XClient::with_selector`] |
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use fastrpc_xclient::*;
//! # use fastrpc_xclient::selector::SelectRequest;
//! # fn demo(d: Arc<dyn Discovery>) -> Result<(), XClientError> {
//! let o = XClientOptions::default;
//! let _random = XClient::new("Arith", FailMode::Failover, SelectMode::Random, d.clone(), o())?;
//! let _rr = XClient::new("Arith", FailMode::Failover, SelectMode::RoundRobin, d.clone(), o())?;
//! // Metadata `weight=5` takes five times the calls of `weight=1` (default 1).
//! let _wrr = XClient::new("Arith", FailMode::Failover, SelectMode::WeightedRoundRobin, d.clone(), o())?;
//! let _icmp = XClient::new("Arith", FailMode::Failover, SelectMode::WeightedIcmp, d.clone(), o())?;
//! let _hash = XClient::new("Cache", FailMode::Failtry, SelectMode::ConsistentHash, d.clone(), o())?;
//! let _geo = XClient::new("Arith", FailMode::Failover, SelectMode::Closest, d.clone(),
//!     o().position(48.8566, 2.3522))?;
//!
//! /// Prefers servers whose key mentions "canary" for one method.
//! struct Canary;
//! impl Selector for Canary {
//!     fn select<'s>(&self, req: &SelectRequest<'_>, servers: &'s [ServerEntry])
//!         -> Option<&'s ServerEntry> {
//!         let canary = servers.iter().find(|s| s.key().contains("canary"));
//!         if req.method == "Mul" { canary.or(servers.first()) } else { servers.first() }
//!     }
//! }
//! let _user = XClient::with_selector("Arith", FailMode::Failover, Arc::new(Canary), d, o());
//! # Ok(()) }
//! ```
//!
//! # Health: breakers and connections
//!
//! Each server has a [`CircuitBreaker`] ([`XClientOptions::breaker`]; by default
//! [`BreakerPolicy::DEFAULT`], 3 timeouts in a row, which takes a hung server out of
//! rotation); an open breaker hides its server from the selector until a half-open probe
//! succeeds. A Failover attempt gets a share of the call's deadline ([`AttemptTimeout`]), so a
//! server that never answers costs a caller one share, and the call moves on. Connections are
//! made on demand, one per server, with concurrent dials coalesced; a failed dial backs off
//! ([`ReconnectBackoff`]), except that a trial dial goes through when every server is in
//! backoff, so calls succeed again soon after an outage; servers that leave discovery have
//! their connections closed. See the [`breaker`] module for when to use which policy.
//!
//! # Cost per call
//!
//! Nothing on the call path grows with the number of servers: selection works on the shared
//! list, and what selectors, breakers and connections need per server is computed once per
//! discovery update into a snapshot that calls load without a lock.
//!
//! # Plugins and tracing
//!
//! [`ClientPlugin`] has rpcx's client hooks (pre/post call, connection created, failed and
//! closed, before encode, after decode, select wrapping), all optional. Every call runs in a
//! `tracing` span `xclient` with the style, service, method and fail mode; attempts and
//! outcomes are `debug` events with the server.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod breaker;
mod caller;
mod connections;
pub mod discovery;
mod error;
mod fail_mode;
mod options;
pub mod plugin;
mod pool;
mod router;
pub mod selector;
mod xclient;

pub use breaker::{BreakerPolicy, BreakerState, CircuitBreaker};
pub use connections::ServerPush;
pub use discovery::{
    Discovery, DnsDiscovery, MultipleServersDiscovery, Peer2PeerDiscovery, ServerEntry,
    ServerFilter, ServerList,
};
pub use error::XClientError;
pub use fail_mode::FailMode;
pub use options::{AttemptTimeout, ReconnectBackoff, XClientOptions};
pub use plugin::{CallInfo, ClientPlugin};
pub use pool::{OneClient, XClientPool};
pub use selector::{SelectMode, SelectRequest, Selector};
pub use xclient::{Receipt, XClient};

pub use fastrpc_client::{
    CallOptions, Client, ClientError, ClientOptions, Message, Metadata, Payload, RemoteError,
    Reply, SerializeType,
};
