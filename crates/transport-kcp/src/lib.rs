//! The rpcx byte stream over KCP, wire-compatible with Go rpcx's `kcp` network.
//!
//! Go rpcx serves and dials `kcp@host:port` with xtaci/kcp-go v5
//! (`ListenWithOptions(addr, block, 10, 3)` / `DialWithOptions(addr, block, 10, 3)`), tuning
//! nothing. This crate speaks that exact session framing, so a fastrpc server accepts Go rpcx
//! KCP clients and a fastrpc client calls Go rpcx KCP servers:
//!
//! - [`KcpListener::bind`] then [`KcpListener::accept`] gives [`KcpStream`]s, one UDP socket
//!   demultiplexed by peer address and conv;
//! - [`KcpStream::connect`] dials;
//! - a [`KcpStream`] is `AsyncRead + AsyncWrite + Send + Unpin`, ready for
//!   `Server::serve_connection` and `Client::from_io`.
//!
//! It is not the `network@addr` seam itself: the transport base crate dispatches `kcp@...` to
//! this crate.
//!
//! # Wire format (`rpcx-protocol.md` §3.6)
//!
//! Every UDP datagram, at most 1400 bytes:
//!
//! ```text
//! offset 0   16-byte random nonce
//! offset 16  CRC32 (IEEE), u32 LE, over every byte from offset 20
//! offset 20  FEC seqid, u32 LE
//! offset 24  FEC flag, u16 LE: 0xf1 data shard, 0xf2 parity shard
//! offset 26  data shards only: size, u16 LE, counting its own 2 bytes
//! offset 28  KCP segments (24-byte header: conv, cmd, frg, wnd, ts, sn, una, len; all LE)
//! ```
//!
//! After 10 data shards (seqids 13k..13k+9) come 3 parity shards (13k+10..13k+12):
//! Reed-Solomon (10, 3) over the data shards' bytes from the size field on, zero-padded to the
//! longest. The receiver hands data shards to KCP at once and uses parity only to rebuild lost
//! data shards. Finally the whole datagram, nonce included, is encrypted in place:
//! [`BlockCrypt::aes`] is AES-CFB with 128-bit feedback under kcp-go's fixed IV
//! ([`KCP_GO_AES_IV`]), AES-128/192/256 by key length; [`BlockCrypt::none`] skips the cipher but
//! keeps nonce and CRC. The KCP MSS is therefore 1400 - 24 - 28 = [`wire::MSS`] (1348).
//!
//! KCP runs with kcp-go's defaults ([`KcpConfig::new`]): windows 32, interval 100 ms, nodelay
//! off, fast resend off, congestion control on, message mode, a random conv, dead link after
//! 20 retransmissions. Writes are cut into messages of one MSS each, as kcp-go's `Write` does,
//! so no message ever needs more fragments than a receive window holds. (KCP has no FIN and
//! kcp-go no keep-alive: a peer that goes away is noticed by the dead-link rule or a timeout.)
//!
//! # Budgets
//!
//! A peer cannot make a listener hold unbounded memory: at most [`KcpConfig::max_sessions`]
//! sessions (default 256) and [`KcpConfig::accept_backlog`] unaccepted ones (default 128);
//! per session, KCP's windows bound the queues (a write waits while the send window is full;
//! the receive side never buffers past its window plus one message), pending ACKs are capped,
//! and the FEC decoder keeps at most 3 groups open. [`KcpConfig::session_budget_bytes`] gives
//! the per-session ceiling (about 0.26 MB with the defaults) and
//! [`KcpConfig::listener_budget_bytes`] the listener's (about 66 MB). Sessions end on the dead-link
//! rule, after [`KcpConfig::idle_timeout`] of silence (default 5 minutes), or when the stream
//! is dropped and its data delivered. Bad datagrams are dropped and counted in [`KcpStats`],
//! never logged per packet.
//!
//! # Dependencies, and why
//!
//! - `aes` + `cfb-mode` (RustCrypto): the standard, audited AES and CFB implementations; CFB's
//!   full-block feedback is exactly what kcp-go's hand-rolled `encrypt` does. The 0.8 lines
//!   keep the workspace's MSRV (1.85).
//! - `reed-solomon-erasure`: a GF(2^8) Reed-Solomon port of Backblaze's JavaReedSolomon, the
//!   same Vandermonde-derived encoding matrix klauspost/reedsolomon (kcp-go's codec) builds,
//!   so parity bytes match (a test checks them against that matrix built in Python). Its last
//!   release is from 2022, but it is the widely used crate for this exact code; the actively
//!   developed SIMD crates (`reed-solomon-simd`, `reed-solomon-novelpoly`) use other codes and
//!   would not interoperate. Used without default features (a spin lock instead of an old
//!   `parking_lot`; each session has its own codec, so the lock is never contended).
//! - `crc32fast`: CRC32 (IEEE), already in the workspace through `flate2`.
//! - `pbkdf2` + `sha1`: rpcx's example key derivation ([`derive_key`], [`rpcx_example_key`]).
//! - `rand`: nonces and conv ids.
//! - `tokio` (UDP sockets, tasks, timers) and `thiserror`, `tracing` as in the rest of the
//!   workspace.
//! - The KCP core is a port of ikcp.c kept in this crate (`kcp` module), not the `kcp` crate:
//!   that crate (and `tokio_kcp` on it) is unmaintained since 2024, speaks bare KCP only, and
//!   computes sequence distances as `a as i32 - b as i32`, which overflows (a panic in debug
//!   builds) on numbers a peer picks.
//!
//! # Compatibility, and what is not proven
//!
//! Checked against independent sources in the tests (`tests/data/make_vectors.py` writes the
//! expected bytes into `tests/data/vectors.txt`): AES-CFB under the fixed IV against Python's
//! `cryptography` package, CRC32 against `zlib.crc32`, the example key against
//! `hashlib.pbkdf2_hmac`, and the parity bytes against klauspost/reedsolomon's matrix (a
//! Vandermonde matrix times the inverse of its top square, GF(2^8) polynomial 0x11d) built in
//! Python from that definition. A datagram built by hand the kcp-go way is accepted, a datagram
//! this crate writes decrypts, checks and parses as §3.6 says, and parity shards from the
//! script rebuild data shards that are dropped on purpose.
//!
//! **Not tested against a live Go peer**: there is no Go toolchain on the build machines.
//!
//! Known differences from kcp-go v5, none visible on the wire:
//! - sessions are keyed by (address, conv), not by address alone;
//! - [`KcpConfig::idle_timeout`] (default 5 minutes) closes a session that hears nothing; kcp-go
//!   keeps it forever and rpcx's docs tell KCP users to set timeouts or heartbeats for that
//!   reason. Set it to `None` for kcp-go's behaviour;
//! - kcp-go's FEC auto-tuning to a peer with other shard counts is not done (rpcx always uses
//!   10 and 3);
//! - stream mode is not offered: rpcx's examples turn it on (`SetStreamMode(true)` in their
//!   `ConfigUDPSession` plugin), which makes a Go sender coalesce writes into `frg = 0`
//!   segments; a message-mode receiver reads those as the same byte stream, and this crate's
//!   one-MSS, `frg = 0` messages read the same in either mode.
//!
//! # Pace
//!
//! kcp-go's defaults are slow for bulk data: with ACKs sent once per 100 ms interval and
//! congestion control on, a 4 MiB echo on loopback took about 40 s in a debug build on the
//! project's 2-core machine, and about 18 s with ACK nodelay ([`KcpConfig::rpcx_example`]).
//! Raise the windows, turn on `nodelay` / `no_congestion_control` on both sides for more.
//!
//! # Example
//!
//! ```no_run
//! use fastrpc_transport_kcp::{KcpConfig, KcpListener, KcpStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let mut listener = KcpListener::bind("127.0.0.1:8972", KcpConfig::rpcx_example()).await?;
//! tokio::spawn(async move {
//!     while let Ok((mut stream, _peer)) = listener.accept().await {
//!         tokio::spawn(async move {
//!             let mut buf = [0u8; 5];
//!             if stream.read_exact(&mut buf).await.is_ok() {
//!                 let _ = stream.write_all(&buf).await;
//!             }
//!         });
//!     }
//! });
//! let mut stream = KcpStream::connect("127.0.0.1:8972", KcpConfig::rpcx_example()).await?;
//! stream.write_all(b"hello").await?;
//! let mut back = [0u8; 5];
//! stream.read_exact(&mut back).await?;
//! # Ok(())
//! # }
//! ```

mod clock;
mod config;
mod crypt;
mod fec;
mod kcp;
mod link;
mod listener;
mod session;
mod stats;
mod stream;
pub mod wire;

pub use config::KcpConfig;
pub use crypt::{
    BlockCrypt, KCP_GO_AES_IV, KeyLengthError, RPCX_EXAMPLE_PASSPHRASE, RPCX_EXAMPLE_ROUNDS,
    RPCX_EXAMPLE_SALT, derive_key, rpcx_example_key,
};
pub use listener::KcpListener;
pub use stats::KcpStats;
pub use stream::KcpStream;
