//! mDNS / DNS-SD registry for fastrpc, with rpcx's TXT layout (`rpcx-protocol.md` §5.5):
//! servers announce themselves on the local link, clients browse; no registry server.
//!
//! * [`MdnsRegistrar`] (server side) announces instances of `_rpcxservices.local.`, the
//!   type Go rpcx announces;
//! * [`MdnsDiscovery`] (client side) browses them every `interval`;
//! * [`registrar_from_url`] and [`discovery_from_url`] build them from `mdns://?options`.
//!
//! # Layout
//!
//! Each instance carries one TXT string: Go's `url.QueryEscape(json.Marshal(services))`
//! where `services` is a list of `{"service":..,"meta":..,"service_address":..}` objects
//! (empty fields left out, `&` written `\u0026` as Go's JSON does). For service `Arith` with
//! metadata `weight=10&group=g1` at `tcp@127.0.0.1:8972` the string is
//! `%5B%7B%22service%22%3A%22Arith%22%2C%22meta%22%3A%22weight%3D10%5Cu0026group%3Dg1%22%2C%22service_address%22%3A%22tcp%40127.0.0.1%3A8972%22%7D%5D`.
//! The instance's SRV port is the server's port.
//!
//! # Meeting Go rpcx
//!
//! Go rpcx passes `"_rpcxservices"` to grandcat/zeroconf, so on the wire its type is
//! `_rpcxservices.local.`: no `_tcp` label, outside RFC 6763. fastrpc announces and browses
//! exactly that by default ([`SERVICE_TYPE`]); [`MdnsOptions::service`] (`?service=` in the
//! URL) selects the RFC 6763 form [`SERVICE_TYPE_TCP`] instead, which Go does not see. The
//! messages are shaped as zeroconf's ([`wire`] describes them): a browse asks `PTR` of the
//! type; an answer carries the `PTR`, then `SRV`, `TXT` and an `A` record (Go's browser
//! drops an instance without an address); announcements and goodbyes carry the instance's
//! records and the `_services._dns-sd._udp.local.` enumeration. IPv4 only.
//!
//! Other differences from Go rpcx:
//!
//! * **Filtering.** Go's discovery returns every service of every host; fastrpc keeps only
//!   the entries of the discovery's own service.
//! * **Instance names.** Go names the instance after the host name only (two servers on
//!   one host collide); fastrpc uses `{host}-{port}`, and splits a list longer than one
//!   255-byte TXT string over `{host}-{port}-1`, `-2`, ... (Go would fail to announce it).
//!
//! # Bounds
//!
//! Datagrams over [`wire::MAX_PACKET`] (9000) bytes are dropped unread; one browse keeps at
//! most [`MAX_INSTANCES`] instances and [`MAX_BROWSE_BYTES`] of names and TXT strings;
//! malformed packets are dropped with a debug line, never a panic.
//!
//! # Outages
//!
//! There is no registry to lose. A browse that fails keeps the last list, and a server is
//! dropped only when two browses in a row miss it (multicast answers can be lost). So a
//! server that stops answering, killed or shut down, disappears within about two
//! `interval`s; [`close`](fastrpc_discovery::Registrar::close) also sends goodbyes for
//! other browsers.
//!
//! # Dependencies
//!
//! The responder and browser are this crate's own (`responder.rs`, `browser.rs`), small and
//! limited to what rpcx needs: `mdns-sd`, used before, accepts only `._tcp`/`._udp` service
//! types and so could not meet Go. DNS messages are built and read with `simple-dns` (MIT,
//! maintained, no dependencies, parses without panicking on bad input); the multicast
//! socket's options (SO_REUSEADDR/SO_REUSEPORT, group membership per interface, multicast
//! interface and loop) come from `socket2`, and the interfaces' IPv4 addresses from
//! `if-addrs`; `serde_json` reads the TXT JSON (written by hand to match Go's escaping byte
//! for byte).

mod browser;
mod discovery;
mod layout;
mod options;
mod registrar;
mod responder;
mod socket;
pub mod wire;

pub use browser::{MAX_BROWSE_BYTES, MAX_INSTANCES};
pub use discovery::{MdnsDiscovery, browse};
pub use layout::{
    SERVICE_TYPE, SERVICE_TYPE_TCP, ServiceMeta, TXT_MAX, go_json, parse_txt, query_escape,
    query_unescape, split_for_txt, txt_for,
};
pub use options::MdnsOptions;
pub use registrar::MdnsRegistrar;

use fastrpc_discovery::{RegistryError, RegistryUrl};

/// The discovery of `service_path` for an `mdns://` URL (the facade's `from_url` calls it).
pub async fn discovery_from_url(
    url: &RegistryUrl,
    service_path: &str,
) -> Result<MdnsDiscovery, RegistryError> {
    MdnsDiscovery::connect(MdnsOptions::from_url(url)?, service_path).await
}

/// The registrar for an `mdns://` URL (the facade's `from_url` calls it).
pub async fn registrar_from_url(url: &RegistryUrl) -> Result<MdnsRegistrar, RegistryError> {
    MdnsRegistrar::new(MdnsOptions::from_url(url)?)
}
