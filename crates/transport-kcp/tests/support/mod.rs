//! A real fastrpc server behind a real KcpListener on 127.0.0.1.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use fastrpc_client::{Client, ClientOptions};
use fastrpc_server::{Context, Raw, Server, ServiceError};
use fastrpc_transport_kcp::{KcpConfig, KcpListener, KcpStats, KcpStream};
use tokio::task::JoinHandle;

/// Generous: a loaded 2-core machine runs these.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub struct Running {
    pub addr: SocketAddr,
    pub stats: tokio::sync::watch::Receiver<KcpStats>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn echo_server() -> Server {
    Server::builder()
        .handler("Echo", "Echo", |_ctx: Context, a: Raw| async move {
            Ok::<_, ServiceError>(a)
        })
        .handler("Echo", "Len", |_ctx: Context, a: Raw| async move {
            Ok::<_, ServiceError>(Raw::from(a.len().to_string().into_bytes()))
        })
        .build()
}

/// Serves the echo service on a fresh listener; `stats` follows the listener's counters.
pub async fn serve(cfg: KcpConfig) -> Running {
    let mut listener = KcpListener::bind("127.0.0.1:0", cfg).await.unwrap();
    let addr = listener.local_addr();
    let (tx, stats) = tokio::sync::watch::channel(listener.stats());
    let server = echo_server();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                r = listener.accept() => {
                    let (stream, peer) = r.unwrap();
                    let server = server.clone();
                    tokio::spawn(async move { server.serve_connection(stream, peer.to_string()).await });
                }
                _ = tick.tick() => { let _ = tx.send(listener.stats()); }
            }
        }
    });
    Running { addr, stats, task }
}

pub async fn client(addr: SocketAddr, cfg: KcpConfig) -> Client {
    let stream = KcpStream::connect(addr, cfg).await.unwrap();
    // KCP at kcp-go's default pace moves a 4 MiB echo in 20 to 40 s here: the tests bound
    // each call with their own timeouts instead of the client's 30 s default.
    let opts = ClientOptions::default().default_timeout(None);
    Client::from_io(stream, addr.to_string(), opts)
}

/// Waits (up to [`PATIENCE`]) until `cond` holds for the listener's counters.
pub async fn wait_stats(r: &mut Running, cond: impl Fn(&KcpStats) -> bool) -> KcpStats {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let s = *r.stats.borrow_and_update();
        if cond(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "counters never got there: {s:?}"
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), r.stats.changed()).await;
    }
}

/// The vectors `data/make_vectors.py` wrote: `name hex` lines.
pub fn vector(name: &str) -> Vec<u8> {
    let text = include_str!("../data/vectors.txt");
    let line = text
        .lines()
        .find(|l| l.split(' ').next() == Some(name))
        .unwrap_or_else(|| panic!("no vector {name}"));
    let hex = line.split(' ').nth(1).unwrap_or("");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// CRC32 (IEEE, reflected, poly 0xEDB88320) bit by bit: the tests' own, checked against zlib.
pub fn crc32_bitwise(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// AES-256-CFB decryption written out block by block on the raw AES block function, so that a
/// datagram can be opened without the crate's own `BlockCrypt`.
pub fn cfb256_decrypt_by_hand(key: &[u8], iv: &[u8; 16], data: &mut [u8]) {
    use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
    let aes = aes::Aes256::new_from_slice(key).unwrap();
    let mut prev = *iv;
    for chunk in data.chunks_mut(16) {
        let mut ks = GenericArray::clone_from_slice(&prev);
        aes.encrypt_block(&mut ks);
        let mut next = [0u8; 16];
        next[..chunk.len()].copy_from_slice(chunk);
        for (c, k) in chunk.iter_mut().zip(ks.iter()) {
            *c ^= k;
        }
        prev = next;
    }
}
