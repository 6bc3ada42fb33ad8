//! Lossless graceful shutdown over real sockets: replies produced before shutdown arrive whole,
//! a request read after shutdown began gets the shutting-down error, connections close only
//! between frames, and `shutdown_report` says whether everything was flushed.

mod budget_support;

use budget_support::*;
use bytes::Bytes;
use fastrpc::server::SHUTTING_DOWN;
use fastrpc::{Context, Raw, Server, ServiceError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const MIB: usize = 1 << 20;
const CALLS: u64 = 100;

/// One run: a `Gate.Wait` call keeps the server draining while 100 pipelined 1 MiB echo calls,
/// all finished before shutdown, are written; then a request sent after shutdown began.
async fn one_run(run: usize) {
    let echoed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Notify::new());
    let (e, g) = (echoed.clone(), gate.clone());
    let server = Server::builder()
        .handler("Echo", "Echo", move |_c: Context, p: Raw| {
            e.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, ServiceError>(p) }
        })
        .handler("Gate", "Wait", move |_c: Context, _p: Raw| {
            let g = g.clone();
            async move {
                g.notified().await;
                Ok::<_, ServiceError>(Raw::from(&b"opened"[..]))
            }
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.socket_addr().unwrap();
    let server = srv.server().clone();

    let (w, mut r) = raw(addr).await;
    let payload = Bytes::from(vec![3u8; MIB]);
    let mut frames = vec![request("Gate", "Wait", 1000, Bytes::new())];
    frames.extend((1..=CALLS).map(|seq| request("Echo", "Echo", seq, payload.clone())));
    let writer = write_all_in_background(w, frames);

    // The client reads all along.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let reader = tokio::spawn(async move {
        loop {
            match r.next_within(Duration::from_secs(120)).await {
                Ok(Some(m)) => seen2.lock().unwrap().push(m),
                Ok(None) => return Ok(()),
                Err(e) => return Err((e, seen2.lock().unwrap().len())),
            }
        }
    });
    eventually(Duration::from_secs(120), "100 calls finished", || {
        echoed.load(Ordering::SeqCst) == CALLS as usize
    })
    .await;
    let mut w = writer.await.unwrap();

    let shutdown = tokio::spawn(srv.shutdown_report(Duration::from_secs(60)));
    // Draining has begun once the listener is closed.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "listener still open");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    w.write_all(&request("Echo", "Echo", 2000, Bytes::from_static(b"late")))
        .await
        .unwrap();
    // The late request is answered (with the error) before the gate opens and the server
    // stops reading.
    eventually(Duration::from_secs(30), "the late request answered", || {
        seen.lock().unwrap().iter().any(|m| m.header.seq == 2000)
    })
    .await;
    assert_eq!(server.in_flight(), 1, "the gate call is still running");
    gate.notify_one();

    let report = tokio::time::timeout(Duration::from_secs(90), shutdown)
        .await
        .expect("shutdown returns")
        .unwrap();
    assert!(report.drained && report.flushed, "run {run}: {report:?}");
    reader
        .await
        .unwrap()
        .unwrap_or_else(|(e, n)| panic!("run {run}: truncated after {n} frames: {e}"));
    let got = std::mem::take(&mut *seen.lock().unwrap());
    let echoes: Vec<_> = got.iter().filter(|m| m.header.seq <= CALLS).collect();
    assert_eq!(
        echoes.len(),
        CALLS as usize,
        "run {run}: every finished call"
    );
    for (i, m) in echoes.iter().enumerate() {
        assert_eq!(m.header.seq, i as u64 + 1);
        assert!(!m.header.is_error());
        assert_eq!(m.payload, payload, "run {run}: reply {} whole", i + 1);
    }
    let gate_reply = got
        .iter()
        .find(|m| m.header.seq == 1000)
        .expect("gate reply");
    assert_eq!(&gate_reply.payload[..], b"opened");
    let late = got
        .iter()
        .find(|m| m.header.seq == 2000)
        .expect("late reply");
    assert!(late.header.is_error());
    assert_eq!(late.metadata.get("__rpcx_error__"), Some(SHUTTING_DOWN));
    assert_eq!(got.len(), CALLS as usize + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_replies_survive_shutdown_twenty_times() {
    for run in 0..20 {
        one_run(run).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_past_its_deadline_says_so() {
    // A client that never reads: the writer cannot flush, and the report says so.
    let server = Server::builder()
        .handler("Big", "Get", |_c: Context, _p: Raw| async move {
            Ok::<_, ServiceError>(Raw::from(vec![1u8; 8 * MIB]))
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let server = srv.server().clone();
    let (mut w, _r) = raw(srv.socket_addr().unwrap()).await;
    w.write_all(&request("Big", "Get", 1, Bytes::new()))
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the reply queued", || {
        server.budget_usage().queued_reply_bytes > 0
    })
    .await;
    let report = srv.shutdown_report(Duration::from_millis(300)).await;
    assert!(report.drained, "{report:?}");
    assert!(!report.flushed, "{report:?}");
    assert!(!report.is_complete());
    eventually(Duration::from_secs(30), "the connection dropped", || {
        server.budget_usage() == Default::default()
    })
    .await;
}
