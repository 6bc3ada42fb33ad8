//! Byte budgets over real sockets, asserted on the server's own accounting
//! (`Server::budget_usage`): a client that never reads stops being read once its budget is
//! reached, the server's held bytes stay within the budgets plus one frame, other clients are
//! served meanwhile, and every reply arrives once the client reads.

mod budget_support;

use budget_support::*;
use bytes::Bytes;
use fastrpc::protocol::Limits;
use fastrpc::server::BudgetUsage;
use fastrpc::{Client, Context, Raw, Server, ServerOptions, ServiceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const MIB: usize = 1 << 20;
const QUEUED: usize = 2 * MIB;
const IN_FLIGHT: usize = 4 * MIB;

fn options() -> ServerOptions {
    ServerOptions::default()
        .max_queued_reply_bytes(QUEUED)
        .max_in_flight_request_bytes(IN_FLIGHT)
        // No write timeout: the test decides when the client reads.
        .write_timeout(None)
        // Shorter than the pauses below: a pause the server chose must not count against a
        // frame the peer is sending.
        .frame_timeout(Duration::from_millis(300))
}

/// `Echo.Echo` returns its payload; `Big.Get` returns as many bytes as its payload asks
/// (a decimal count). Both count their calls.
fn server(calls: Arc<AtomicUsize>) -> Server {
    let c2 = calls.clone();
    Server::builder()
        .options(options())
        .handler("Echo", "Echo", move |_c: Context, p: Raw| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, ServiceError>(p) }
        })
        .handler("Big", "Get", move |_c: Context, p: Raw| {
            c2.fetch_add(1, Ordering::SeqCst);
            let n: usize = std::str::from_utf8(&p).unwrap().parse().unwrap();
            async move { Ok::<_, ServiceError>(Raw::from(vec![9u8; n])) }
        })
        .build()
}

/// Waits until the server stops reading: its call count no longer moves for a while.
async fn until_reading_stops(calls: &AtomicUsize) -> usize {
    let mut last = usize::MAX;
    loop {
        let now = calls.load(Ordering::SeqCst);
        if now == last {
            return now;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn assert_within_budgets(u: BudgetUsage, frame: usize) {
    assert!(
        u.queued_reply_bytes <= QUEUED + frame,
        "queued {} > budget {} + one frame {}",
        u.queued_reply_bytes,
        QUEUED,
        frame
    );
    assert!(
        u.in_flight_request_bytes <= IN_FLIGHT + frame,
        "in flight {} > budget {} + one frame",
        u.in_flight_request_bytes,
        IN_FLIGHT
    );
    assert!(
        u.partial_frame_bytes <= frame + 64 * 1024,
        "partial {} > one frame",
        u.partial_frame_bytes
    );
}

/// Another client is served while the stuck one holds its budget.
async fn bystander_is_served(addr: std::net::SocketAddr) {
    let client = Client::connect(&addr.to_string()).await.unwrap();
    let r: Raw = tokio::time::timeout(
        Duration::from_secs(30),
        client.call("Echo", "Echo", &Raw::from(&b"hello"[..])),
    )
    .await
    .expect("bystander served in time")
    .unwrap();
    assert_eq!(&r[..], b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_1_mib_calls_is_no_longer_read() {
    let calls = Arc::new(AtomicUsize::new(0));
    let srv = server(calls.clone())
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let addr = srv.socket_addr().unwrap();
    let server = srv.server().clone();

    const N: u64 = 40;
    let payload = Bytes::from(vec![1u8; MIB]);
    let frames: Vec<Bytes> = (1..=N)
        .map(|seq| request("Echo", "Echo", seq, payload.clone()))
        .collect();
    let frame = frames[0].len();
    let (w, mut r) = raw(addr).await;
    let writer = write_all_in_background(w, frames);

    eventually(Duration::from_secs(60), "the reply budget reached", || {
        server.budget_usage().queued_reply_bytes >= QUEUED
    })
    .await;
    let served = until_reading_stops(&calls).await;
    assert!(
        served < N as usize,
        "the server read all {served} calls of a client that does not read"
    );
    let held = server.budget_usage();
    eprintln!("1 MiB calls: {served} of {N} read; held {held:?}");
    assert_within_budgets(held, frame);
    bystander_is_served(addr).await;
    assert_eq!(calls.load(Ordering::SeqCst), served + 1, "still not read");

    // The client reads: every reply arrives, whole and in order.
    for seq in 1..=N {
        let m = r
            .next_within(Duration::from_secs(60))
            .await
            .unwrap()
            .expect("a reply");
        assert_eq!(m.header.seq, seq);
        assert!(!m.header.is_error());
        assert_eq!(m.payload.len(), MIB);
        assert_within_budgets(server.budget_usage(), frame);
    }
    drop(writer.await.unwrap());
    eventually(Duration::from_secs(30), "nothing held", || {
        let u = server.budget_usage();
        u.queued_reply_bytes == 0 && u.in_flight_request_bytes == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_requests_for_large_replies_are_bounded_too() {
    let calls = Arc::new(AtomicUsize::new(0));
    let srv = server(calls.clone())
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let addr = srv.socket_addr().unwrap();
    let server = srv.server().clone();

    // 300 requests of ~40 bytes, each asking for 256 KiB: 75 MiB of replies for 12 KB sent.
    const N: u64 = 300;
    const REPLY: usize = 256 * 1024;
    let frames: Vec<Bytes> = (1..=N)
        .map(|seq| request("Big", "Get", seq, Bytes::from(REPLY.to_string())))
        .collect();
    let (w, mut r) = raw(addr).await;
    let writer = write_all_in_background(w, frames);

    eventually(Duration::from_secs(60), "the reply budget reached", || {
        server.budget_usage().queued_reply_bytes >= QUEUED
    })
    .await;
    let served = until_reading_stops(&calls).await;
    assert!(served < N as usize, "all {served} requests were read");
    assert_within_budgets(server.budget_usage(), REPLY + 64);
    bystander_is_served(addr).await;

    for seq in 1..=N {
        let m = r
            .next_within(Duration::from_secs(60))
            .await
            .unwrap()
            .expect("a reply");
        assert_eq!(m.header.seq, seq);
        assert_eq!(m.payload.len(), REPLY);
        assert_within_budgets(server.budget_usage(), REPLY + 64);
    }
    drop(writer.await.unwrap());
    eventually(Duration::from_secs(30), "nothing held", || {
        let u = server.budget_usage();
        u.queued_reply_bytes == 0 && u.in_flight_request_bytes == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_wide_in_flight_budget_pauses_reading_and_frees_up() {
    // Handlers that wait hold their requests in flight: the server-wide budget (3 MiB) stops
    // reading once reached, and reading resumes as calls finish.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (g, c) = (gate.clone(), calls.clone());
    let server = Server::builder()
        .options(
            options()
                .max_server_in_flight_request_bytes(3 * MIB)
                .max_in_flight_request_bytes(64 * MIB),
        )
        .handler("Slow", "Hold", move |_c: Context, p: Raw| {
            let (g, c) = (g.clone(), c.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                g.acquire().await.unwrap().forget();
                Ok::<_, ServiceError>(Raw::from(vec![p.len() as u8]))
            }
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let server = srv.server().clone();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let payload = Raw::from(vec![5u8; 512 * 1024]);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (c, p) = (client.clone(), payload.clone());
            tokio::spawn(async move { c.call::<_, Raw>("Slow", "Hold", &p).await })
        })
        .collect();
    let held = until_reading_stops(&calls).await;
    assert!(held < 16, "all {held} held calls were read");
    let u = server.budget_usage();
    assert!(
        u.in_flight_request_bytes <= 3 * MIB + 512 * 1024 + 1024,
        "{u:?}"
    );
    gate.add_permits(16);
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap()[0], 0);
    }
    eventually(Duration::from_secs(30), "nothing held", || {
        server.budget_usage().held_bytes() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_frames_are_bounded_server_wide() {
    const BUDGET: usize = MIB;
    let calls = Arc::new(AtomicUsize::new(0));
    let server = Server::builder()
        .options(
            options()
                .frame_timeout(Duration::from_secs(2))
                .max_partial_frame_bytes(BUDGET)
                .limits(Limits {
                    max_frame_len: BUDGET,
                    ..Limits::default()
                }),
        )
        .handler("Echo", "Echo", {
            let calls = calls.clone();
            move |_c: Context, p: Raw| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, ServiceError>(p) }
            }
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.socket_addr().unwrap();
    let server = srv.server().clone();

    // Two peers each send 900 KiB of a 1 MiB frame: together past the 1 MiB budget.
    let frame = request("Echo", "Echo", 1, Bytes::from(vec![4u8; MIB - 100]));
    let part = 900 * 1024;
    let (wa, mut ra) = raw(addr).await;
    let a = write_all_in_background(wa, vec![frame.slice(..part)]);
    let (wb, mut rb) = raw(addr).await;
    let b = write_all_in_background(wb, vec![frame.slice(..part)]);
    eventually(
        Duration::from_secs(30),
        "the partial budget reached",
        || server.budget_usage().partial_frame_bytes >= BUDGET / 2,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = server.budget_usage().partial_frame_bytes;
    assert!(held <= BUDGET + 32, "partial frames hold {held} > {BUDGET}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "neither frame is whole");
    bystander_is_served(addr).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Peers waiting for room meet the frame time limit and are closed.
    for (name, r) in [("a", &mut ra), ("b", &mut rb)] {
        let end = r.next_within(Duration::from_secs(60)).await;
        assert!(matches!(end, Ok(None) | Err(_)), "{name}: {end:?}");
    }
    drop((a, b));
    eventually(Duration::from_secs(30), "partial bytes given back", || {
        server.budget_usage().partial_frame_bytes == 0
    })
    .await;
    // A whole frame as large as the budget goes through.
    let (mut wc, mut rc) = raw(addr).await;
    tokio::io::AsyncWriteExt::write_all(&mut wc, &frame)
        .await
        .unwrap();
    let reply = rc
        .next_within(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the big frame is answered");
    assert_eq!(reply.payload.len(), MIB - 100);
}
