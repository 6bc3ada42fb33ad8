//! `fastrpc dump --listen A --upstream B`: a transparent TCP proxy that prints every frame
//! both ways. Bytes are forwarded as they arrive, before and whatever the decoding.

use super::frame::{Direction, Pending};
use super::tap::{Printer, Tap};
use anyhow::Context as _;
use fastrpc::protocol::ServerAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Runs the proxy until interrupted.
pub(crate) async fn run(listen: &str, upstream: &str, printer: Printer) -> anyhow::Result<()> {
    let upstream = ServerAddr::parse(upstream)
        .with_context(|| format!("bad upstream {upstream}"))?
        .address;
    let listen = ServerAddr::parse(listen)
        .with_context(|| format!("bad listen address {listen}"))?
        .address;
    let listener = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    eprintln!(
        "fastrpc dump: listening on {} for {upstream}",
        listener.local_addr()?
    );
    let ids = AtomicU64::new(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (client, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => { eprintln!("fastrpc dump: accept: {e}"); continue; }
                };
                let id = ids.fetch_add(1, Ordering::Relaxed);
                let (upstream, printer) = (upstream.clone(), printer.clone());
                tokio::spawn(async move {
                    if let Err(e) = relay(id, client, &upstream, printer).await {
                        eprintln!("fastrpc dump: connection #{id} from {peer}: {e:#}");
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

async fn relay(id: u64, client: TcpStream, upstream: &str, printer: Printer) -> anyhow::Result<()> {
    let server = TcpStream::connect(upstream)
        .await
        .with_context(|| format!("connecting to upstream {upstream}"))?;
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let pending = Arc::new(Mutex::new(Pending::default()));
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = Tap::new(id, Direction::ToServer, pending.clone(), printer.clone());
    let down = Tap::new(id, Direction::ToClient, pending, printer);
    let (a, b) = tokio::join!(pump(cr, sw, up), pump(sr, cw, down));
    a.and(b)
}

/// Copies `from` to `to`, showing the bytes to `tap` on the way.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut tap: Tap) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        to.write_all(&buf[..n]).await?;
        tap.feed(&buf[..n]);
    }
}
