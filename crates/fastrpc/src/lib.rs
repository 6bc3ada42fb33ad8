#![doc = include_str!("../../../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Features that mirror rpcx build tags but are not built yet fail loudly.
#[cfg(feature = "quic")]
compile_error!("fastrpc: the `quic` transport is not implemented yet");
#[cfg(feature = "kcp")]
compile_error!("fastrpc: the `kcp` transport is not implemented yet");
#[cfg(feature = "http")]
compile_error!("fastrpc: the `http` gateway and transport are not implemented yet");
#[cfg(feature = "tls")]
compile_error!("fastrpc: `tls` is not implemented yet");
#[cfg(feature = "reuseport")]
compile_error!("fastrpc: `reuseport` is not implemented yet");
#[cfg(feature = "etcd")]
compile_error!("fastrpc: the `etcd` registry is not implemented yet");
#[cfg(feature = "zookeeper")]
compile_error!("fastrpc: the `zookeeper` registry is not implemented yet");
#[cfg(feature = "consul")]
compile_error!("fastrpc: the `consul` registry is not implemented yet");
#[cfg(feature = "redis")]
compile_error!("fastrpc: the `redis` registry is not implemented yet");
#[cfg(feature = "mdns")]
compile_error!("fastrpc: the `mdns` registry is not implemented yet");

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

/// Byte-stream plumbing and TCP (`fastrpc-transport`).
pub mod transport {
    pub use fastrpc_transport::*;
}

/// An alternative global allocator for server binaries (feature `mimalloc`).
///
/// mimalloc rather than jemalloc: it builds from a small C source with `cc` alone (jemalloc
/// needs autoconf and a longer build), runs on every platform Rust's tier 1 covers (jemalloc
/// does not build for MSVC), and returns freed pages to the OS on its own after a spike. A
/// library must not choose the allocator, so nothing here installs it; a binary does:
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

pub use fastrpc_client::{CallOptions, Client, ClientError, ClientOptions};
pub use fastrpc_codec::{Payload, Proto, Raw};
pub use fastrpc_core::{CompressType, Message, Metadata, SerializeType};
pub use fastrpc_server::{Context, Server, ServerOptions, ServiceError};
pub use fastrpc_xclient::{FailMode, SelectMode, XClient, XClientOptions};
