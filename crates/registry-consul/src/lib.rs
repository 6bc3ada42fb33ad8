//! Consul registry for fastrpc, in two modes.
//!
//! * **KV mode** (the default, `?mode=kv`): rpcx's exact layout in Consul's **KV store**
//!   (`rpcx-protocol.md` §5.3), so that Go rpcx servers and clients using
//!   `ConsulRegisterPlugin` / `NewConsulDiscovery` (rpcxio/rpcx-consul over libkv) and
//!   fastrpc ones find each other.
//! * **Catalog mode** (`?mode=catalog`): Consul's native service catalog, one agent service
//!   per (service, server) with a TTL health check, for users who do not need Go rpcx
//!   interop and want Consul's UI, DNS and health views. Go rpcx does not read it.
//!
//! [`ConsulRegistrar`] is the server side, [`ConsulDiscovery`] the client side;
//! [`registrar_from_url`] and [`discovery_from_url`] build them from a `consul://` URL.
//!
//! # KV layout (copied from libkv's Consul store, quirks included)
//!
//! With base path `/rpcx_test` (its leading `/` dropped, as rpcx does), service `Arith`
//! and server `tcp@127.0.0.1:8972`:
//!
//! | key | value | session |
//! |---|---|---|
//! | `rpcx_test` | `rpcx_path` | none |
//! | `rpcx_test/Arith` | `Arith` | none |
//! | `rpcx_test/Arith/tcp@127.0.0.1:8972` | the metadata (`weight=10&group=g1`) | TTL session, `Behavior` delete |
//!
//! Every write sets `Flags` = [`LOCK_FLAG_VALUE`] (`0x2DDCCBC058A50C18`, Consul's Go API
//! `LockFlagValue`, which libkv's lock needs). The entry's session is created with the body
//! Go's API sends, `{"Behavior":"delete","LockDelay":"1ms","TTL":"<ttl/2>"}` (libkv halves
//! the TTL because Consul invalidates a session only after twice its TTL), the key is taken
//! with `PUT ?acquire=<session>`, and the session is renewed (`/v1/session/renew`) at every
//! refresh. Differences from Go, none visible to a Go client: the acquire carries the value
//! (libkv acquires with an empty value, then writes it), and the base path key is written
//! without a session (libkv's `Start` gives it one, which `Register` then keeps).
//!
//! The discovery lists `{base}/{service}?recurse`, keeps keys under `{base}/{service}/`
//! (rpcx does the same, to skip `ArithX`) and follows changes with blocking queries
//! (`?index=<X-Consul-Index>&wait=15s`, libkv's wait).
//!
//! # URL and options
//!
//! `consul://[:token@]host:8500[,host2:8500]/base?mode=kv&interval=10s&ttl=20s`; see
//! [`ConsulOptions`] for every option. Hosts are tried in order, sticking to the last one
//! that answered.
//!
//! # Outages
//!
//! * The registrar renews and rewrites each entry every `interval`; when Consul does not
//!   answer it retries with backoff (100 ms doubling, at most 5 s); when a session is gone
//!   (expired, or the agent restarted without its data) it makes a new one and writes the
//!   directory and entry keys again.
//! * The discovery keeps its last list while Consul is unreachable and never publishes an
//!   empty list because a read failed. When Consul comes back with nothing under the
//!   prefix, it keeps a non-empty list for up to `grace` so the registrars can write again.
//!
//! # Tests and the emulator
//!
//! Consul's agent cannot be installed on the project's machines, so the integration tests
//! run against `fastrpc-consul-emulator`, a stateful **emulator** of exactly the endpoints
//! used here, built from Consul's documented API. It is not Consul; see its docs for what it
//! does and does not prove.
//!
//! # Dependencies
//!
//! A thin client of the few endpoints used, on `hyper` 1 + `hyper-util`'s pooled client
//! and `http-body-util` (body limits): no OpenSSL and nothing unmaintained. `consulrs` (the
//! one named in the original design) is abandoned since 2021 and pulls in OpenSSL, hyper 0.14
//! and reqwest 0.11; `rs-consul` lacks session renewal. `base64` and `serde_json` read KV
//! responses.

mod catalog;
mod discovery;
mod http;
mod kv;
mod options;
mod registrar;

pub use discovery::ConsulDiscovery;
pub use kv::LOCK_FLAG_VALUE;
pub use options::{ConsulMode, ConsulOptions};
pub use registrar::ConsulRegistrar;

use fastrpc_discovery::{RegistryError, RegistryUrl};

/// The discovery of `service_path` for a `consul://` URL (the facade's `from_url` calls it).
pub async fn discovery_from_url(
    url: &RegistryUrl,
    service_path: &str,
) -> Result<ConsulDiscovery, RegistryError> {
    ConsulDiscovery::connect(ConsulOptions::from_url(url)?, service_path).await
}

/// The registrar for a `consul://` URL (the facade's `from_url` calls it). Connects lazily.
pub async fn registrar_from_url(url: &RegistryUrl) -> Result<ConsulRegistrar, RegistryError> {
    ConsulRegistrar::new(ConsulOptions::from_url(url)?)
}
