//! Structure-aware input against a real server over real sockets: generated frames pass the
//! magic byte and the length check (valid headers with random flag, serialize and compress
//! bits; plausible and absurd lengths; metadata blocks with random counts and lengths; real,
//! truncated and corrupt gzip; frames concatenated and cut short). After every stream the
//! server is still up, a client on another connection still gets answers, no library task
//! panicked, and at the end the server's own accounting is back to the bystander alone.

mod support;

#[path = "../../core/tests/frame_gen/mod.rs"]
mod frame_gen;

use fastrpc::{Client, Raw};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Writes `bytes` in chunks, closes the write side, and reads until the server closes.
async fn send_stream_and_wait_for_close(
    addr: std::net::SocketAddr,
    bytes: &[u8],
    chunks: &[usize],
) {
    let mut conn = RawConn::connect(addr).await;
    let (mut rd, mut wr) = conn.stream.split();
    let drain = async {
        let mut sink = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let write = async {
        let mut rest = bytes;
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).clamp(1, rest.len());
            // The server may close first (a fatal error); later writes may then fail.
            if wr.write_all(&rest[..n]).await.is_err() {
                return;
            }
            rest = &rest[n..];
        }
        let _ = wr.shutdown().await;
    };
    let both = async { tokio::join!(drain, write) };
    tokio::time::timeout(Duration::from_secs(20), both)
        .await
        .expect("the server did not close a connection whose peer had finished sending");
}

async fn assert_serving(addr: std::net::SocketAddr, bystander: &Client) {
    let r: Raw = bystander
        .call("Echo", "Echo", &Raw::from(&b"still"[..]))
        .await
        .expect("the bystander connection still works");
    assert_eq!(&r[..], b"still");
    let fresh = Client::connect(&addr.to_string())
        .await
        .expect("the server still accepts");
    let r: Raw = fresh
        .call("Echo", "Echo", &Raw::from(&b"fresh"[..]))
        .await
        .expect("a new connection gets answers");
    assert_eq!(&r[..], b"fresh");
    fresh.close();
}

#[test]
fn generated_streams_never_hurt_the_server() {
    let panics = panics::guard();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (srv, _notified) = rt.block_on(go_test_server());
    let addr = srv.socket_addr().unwrap();
    let bystander = rt.block_on(Client::connect(&addr.to_string())).unwrap();

    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        frame_gen::stream(4),
        prop::collection::vec(1usize..400, 1..6),
    );
    runner
        .run(&strategy, |(stream, chunks)| {
            rt.block_on(async {
                send_stream_and_wait_for_close(addr, &stream.to_bytes(), &chunks).await;
                assert_serving(addr, &bystander).await;
            });
            panics.check();
            Ok(())
        })
        .unwrap();

    // The server's own accounting: nothing in flight, only the bystander connected.
    rt.block_on(async {
        let server = srv.server();
        let settled = async {
            while server.in_flight() != 0 || server.connections().len() != 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), settled)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "server accounting did not settle: {} in flight, {} connections",
                    server.in_flight(),
                    server.connections().len()
                )
            });
        bystander.close();
        srv.shutdown(Duration::from_secs(5)).await;
    });
    panics.check();
}
