//! A real server with the file transfer and stream services, and a client connected to it.
#![allow(dead_code, unreachable_pub)]

use fastrpc_client::Client;
use fastrpc_filetransfer::{
    DownloadFileArgs, FileTransfer, FileTransferArgs, FileTransferService, SideLimits,
    StreamService, StreamServiceArgs, StreamServiceHandle, Upload,
};
use fastrpc_server::{Server, ServerHandle};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// What the upload handler saw: file name, bytes read and their CRC-32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub name: String,
    pub meta: HashMap<String, String>,
    pub bytes: u64,
    pub crc: u32,
}

/// Deterministic pseudo-random bytes: `len` of them from `seed`, produced chunk by chunk.
pub struct Pattern {
    state: u64,
    pos: u64,
    left: u64,
    /// The current word: its index and bytes.
    word: (u64, [u8; 8]),
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Pattern {
    pub fn new(seed: u64, len: u64) -> Self {
        Pattern {
            state: seed,
            pos: 0,
            left: len,
            word: (0, splitmix64(seed).to_le_bytes()),
        }
    }
}

impl AsyncRead for Pattern {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.left).min(64 * 1024) as usize;
        let mut chunk = vec![0u8; n];
        for b in chunk.iter_mut() {
            // Byte `pos` of the stream depends on `pos` alone, whatever the read sizes.
            let index = self.pos / 8;
            if self.word.0 != index {
                self.word = (index, splitmix64(self.state ^ index).to_le_bytes());
            }
            *b = self.word.1[(self.pos % 8) as usize];
            self.pos += 1;
        }
        self.left -= n as u64;
        buf.put_slice(&chunk);
        std::task::Poll::Ready(Ok(()))
    }
}

/// A writer that keeps only a CRC-32 and a count of what it is given.
#[derive(Default)]
pub struct CrcSink {
    pub hasher: crc32fast::Hasher,
    pub bytes: u64,
}

impl AsyncWrite for CrcSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Reads an upload to its end through a fixed 64 KiB buffer, hashing it.
pub async fn hash_upload(mut body: Upload) -> std::io::Result<(u64, u32)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut hasher = crc32fast::Hasher::new();
    let mut total = 0u64;
    loop {
        let n = body.read(&mut buf).await?;
        if n == 0 {
            return Ok((total, hasher.finalize()));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

/// A running server with both services.
pub struct Rig {
    pub handle: ServerHandle,
    pub files: FileTransferService,
    pub streams: StreamServiceHandle,
    pub client: Client,
    pub received: Arc<Mutex<Vec<Received>>>,
}

/// Files served for download: name to (seed, length) of a [`Pattern`].
pub type Catalog = HashMap<String, (u64, u64)>;

pub async fn rig(limits: SideLimits, catalog: Catalog) -> Rig {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let sink = received.clone();
    let catalog = Arc::new(catalog);
    let files = FileTransfer::new(
        "127.0.0.1:0",
        move |args: FileTransferArgs, body: Upload| {
            let sink = sink.clone();
            async move {
                let (bytes, crc) = hash_upload(body).await?;
                sink.lock().unwrap().push(Received {
                    name: args.file_name,
                    meta: args.meta,
                    bytes,
                    crc,
                });
                Ok(())
            }
        },
        move |args: DownloadFileArgs| {
            let found = catalog.get(&args.file_name).copied();
            async move {
                match found {
                    Some((seed, len)) => Ok(Pattern::new(seed, len)),
                    None => Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("no file {}", args.file_name),
                    )),
                }
            }
        },
    )
    .limits(limits.clone())
    .start()
    .await
    .expect("file transfer listener");

    let streams = StreamService::new(
        "127.0.0.1:0",
        |_args: StreamServiceArgs, conn: tokio::net::TcpStream| async move {
            let (mut r, mut w) = conn.into_split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        },
    )
    .acceptor(|_ctx, args| args.meta.get("user").map(String::as_str) != Some("mallory"))
    .limits(limits)
    .start()
    .await
    .expect("stream listener");

    let server = Server::builder()
        .service(files.clone())
        .service(streams.clone())
        .build();
    let handle = server.serve_tcp("127.0.0.1:0").await.expect("serve");
    let client = Client::connect(&format!("tcp@{}", handle.local_addr()))
        .await
        .expect("connect");
    Rig {
        handle,
        files,
        streams,
        client,
        received,
    }
}

impl Rig {
    pub async fn stop(self) {
        self.files.shutdown();
        self.streams.shutdown();
        self.handle.shutdown(Duration::from_secs(5)).await;
    }

    /// Waits (generously) until `pred` holds of the file transfer stats.
    pub async fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&fastrpc_filetransfer::SideStats) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if pred(&self.files.stats()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.files.stats()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A unique scratch directory under the system temp directory, removed when dropped (also when
/// the test fails).
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("fastrpc-ft-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}
