//! The client's byte budgets over real sockets, against a raw rpcx server written here so the
//! test decides when the server reads, what it answers and what it pushes. Assertions are on
//! the client's own accounting (`Client::stats`), never on RSS or timings.

use bytes::Bytes;
use fastrpc_client::{Client, ClientOptions, ClientStats, Raw};
use fastrpc_core::{Limits, Message, MessageType};
use fastrpc_transport::FrameReader;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const MIB: usize = 1 << 20;
/// Generous: the machine running the tests may be loaded.
const PATIENCE: Duration = Duration::from_secs(30);

async fn listen() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp@{}", l.local_addr().unwrap());
    (l, addr)
}

/// Waits until `cond` holds for the client's stats, or fails after [`PATIENCE`].
async fn wait_for(client: &Client, what: &str, cond: impl Fn(&ClientStats) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let s = client.stats();
        if cond(&s) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; stats {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Answers every request on `stream` with `reply(request)`.
async fn answer(stream: TcpStream, reply: impl Fn(&Message) -> Message) {
    let (r, mut w) = stream.into_split();
    let mut reader = FrameReader::new(r, Limits::default());
    while let Ok(Some(req)) = reader.next(None).await {
        if req.header.message_type() != MessageType::Request {
            continue;
        }
        let frame = reply(&req).to_bytes().unwrap();
        if w.write_all(&frame).await.is_err() {
            return;
        }
    }
}

fn echo(req: &Message) -> Message {
    let mut res = Message::reply_to(req);
    res.payload = req.payload.clone();
    res
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_wait_at_the_pending_budget_while_the_server_does_not_read() {
    let (listener, addr) = listen().await;
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        // Not a byte is read until the test says so.
        let _ = go_rx.await;
        answer(stream, echo).await;
    });
    let max_pending = 4 * MIB;
    let max_queued = MIB;
    let opts = ClientOptions::default()
        .max_pending_bytes(max_pending)
        .max_queued_bytes(max_queued);
    let client = Client::connect_with(&addr, opts).await.unwrap();

    let calls: Vec<_> = (0..32u8)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                let payload = Raw::from(vec![i; MIB]);
                let reply: Raw = c.call("Echo", "Echo", &payload).await?;
                assert!(reply.iter().all(|&b| b == i) && reply.len() == MIB);
                Ok::<_, fastrpc_client::ClientError>(())
            })
        })
        .collect();

    // Each call holds 1 MiB plus a little, so three fit in 4 MiB and the others wait.
    wait_for(&client, "the pending budget to fill", |s| {
        s.pending_calls == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = client.stats();
    let one_call = MIB + 1024;
    assert_eq!(s.pending_calls, 3, "{s:?}");
    assert!(s.pending_bytes <= max_pending + one_call, "{s:?}");
    assert!(s.queued_bytes <= max_queued + one_call, "{s:?}");
    assert!(calls.iter().all(|c| !c.is_finished()), "a call finished");

    // Once the server reads, every call completes whole.
    go_tx.send(()).unwrap();
    for c in calls {
        tokio::time::timeout(PATIENCE, c)
            .await
            .expect("calls completed")
            .unwrap()
            .unwrap();
    }
    let s = client.stats();
    assert_eq!(
        (
            s.pending_calls,
            s.pending_bytes,
            s.unclaimed_reply_bytes,
            s.queued_bytes
        ),
        (0, 0, 0, 0),
        "{s:?}"
    );
    drop(client);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_nobody_takes_stop_the_reader_at_the_budget() {
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        // Small requests asking for large replies.
        answer(stream, |req| {
            let mut res = Message::reply_to(req);
            res.payload = Bytes::from(vec![req.payload[0]; MIB]);
            res
        })
        .await;
    });
    let max_pending = 2 * MIB;
    let client = Client::connect_with(
        &addr,
        ClientOptions::default().max_pending_bytes(max_pending),
    )
    .await
    .unwrap();

    // Ten calls, each polled once (the request goes out) and then left alone, so their
    // replies are read but not taken.
    let args: Vec<Raw> = (0..10u8).map(|i| Raw::from(vec![i])).collect();
    let mut calls: Vec<Pin<Box<dyn Future<Output = Result<Raw, _>> + Send + '_>>> = args
        .iter()
        .map(|a| Box::pin(client.call::<Raw, Raw>("Big", "Get", a)) as _)
        .collect();
    // A reply may come back within that first poll on a fast machine: keep it.
    let mut early: Vec<Option<Raw>> = (0..calls.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (c, slot) in calls.iter_mut().zip(&mut early) {
            if let Poll::Ready(r) = c.as_mut().poll(cx) {
                *slot = Some(r.unwrap());
            }
        }
        Poll::Ready(())
    })
    .await;
    let polled_early = early.iter().filter(|e| e.is_some()).count();

    wait_for(&client, "replies to reach the budget", |s| {
        s.unclaimed_reply_bytes >= max_pending
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = client.stats();
    let one_frame = MIB + 1024;
    assert!(s.unclaimed_reply_bytes <= max_pending + one_frame, "{s:?}");
    assert!(
        s.pending_calls + polled_early >= 7,
        "the reader kept reading past the budget: {s:?}"
    );

    // Taking the replies lets the reader go on; every reply arrives whole.
    for (i, (c, early)) in calls.into_iter().zip(early).enumerate() {
        let reply = match early {
            Some(r) => r,
            None => tokio::time::timeout(PATIENCE, c)
                .await
                .expect("reply arrived")
                .unwrap(),
        };
        assert_eq!(reply.len(), MIB);
        assert!(reply.iter().all(|&b| usize::from(b) == i));
    }
    let s = client.stats();
    assert_eq!((s.pending_calls, s.unclaimed_reply_bytes), (0, 0), "{s:?}");
    drop(client);
    server.abort();
}

/// A server that sends `count` pushes of `len` bytes (byte i in push i) before it answers the
/// first request, and echoes every request after that.
fn push_flood(listener: TcpListener, count: u8, len: usize) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (r, mut w) = stream.into_split();
        let mut reader = FrameReader::new(r, Limits::default());
        let Ok(Some(first)) = reader.next(None).await else {
            return;
        };
        for i in 0..count {
            let mut push = Message::request("Feed", "News");
            push.header.set_oneway(true);
            push.payload = Bytes::from(vec![i; len]);
            if w.write_all(&push.to_bytes().unwrap()).await.is_err() {
                return;
            }
        }
        let _ = w.write_all(&echo(&first).to_bytes().unwrap()).await;
        while let Ok(Some(req)) = reader.next(None).await {
            let _ = w.write_all(&echo(&req).to_bytes().unwrap()).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_flood_is_dropped_past_the_push_budget() {
    let (listener, addr) = listen().await;
    let server = push_flood(listener, 64, 256 * 1024);
    let max_push = MIB;
    let client = Client::connect_with(&addr, ClientOptions::default().max_push_bytes(max_push))
        .await
        .unwrap();
    // The reply comes after every push, so once it is here every push was handled.
    let _: Raw = client
        .call("Echo", "Echo", &Raw::from(vec![1u8]))
        .await
        .unwrap();
    let s = client.stats();
    assert!(s.push_queued_bytes <= max_push + 256 * 1024 + 1024, "{s:?}");
    assert!(s.pushes_dropped >= 56, "{s:?}");
    let mut pushes = client.take_push_receiver().unwrap();
    let mut kept = 0;
    while let Ok(m) = pushes.try_recv() {
        assert!(m.is_server_push());
        kept += 1;
    }
    assert_eq!(kept + s.pushes_dropped, 64);
    assert_eq!(pushes.queued_bytes(), 0);
    assert_eq!(client.stats().push_queued_bytes, 0);
    drop(client);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_pushes_stop_the_reader_and_lose_nothing() {
    let (listener, addr) = listen().await;
    let server = push_flood(listener, 64, 256 * 1024);
    let max_push = MIB;
    let opts = ClientOptions::default()
        .max_push_bytes(max_push)
        .push_blocking(true);
    let client = Client::connect_with(&addr, opts).await.unwrap();
    let mut pushes = client.take_push_receiver().unwrap();
    let call = {
        let c = client.clone();
        tokio::spawn(async move {
            c.call::<Raw, Raw>("Echo", "Echo", &Raw::from(vec![1u8]))
                .await
        })
    };
    wait_for(&client, "the push budget to fill", |s| {
        s.push_queued_bytes >= max_push - 256 * 1024
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = client.stats();
    assert!(s.push_queued_bytes <= max_push + 256 * 1024 + 1024, "{s:?}");
    assert!(!call.is_finished(), "the reader went past the pushes");
    for i in 0..64u8 {
        let m = tokio::time::timeout(PATIENCE, pushes.recv())
            .await
            .expect("push arrived")
            .unwrap();
        assert!(m.payload.iter().all(|&b| b == i), "push {i} out of order");
    }
    tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the call completed after the pushes")
        .unwrap()
        .unwrap();
    assert_eq!(client.stats().pushes_dropped, 0);
    drop(client);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_go_out_while_calls_fill_the_pending_budget() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (listener, addr) = listen().await;
    let echoed = Arc::new(AtomicUsize::new(0));
    let server = {
        let echoed = echoed.clone();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (r, mut w) = stream.into_split();
            let mut reader = FrameReader::new(r, Limits::default());
            // Heartbeats are echoed; calls are never answered.
            while let Ok(Some(req)) = reader.next(None).await {
                if req.header.is_heartbeat() {
                    let _ = w.write_all(&echo(&req).to_bytes().unwrap()).await;
                    echoed.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    let opts = ClientOptions::default()
        .max_pending_bytes(1)
        .heartbeat(Duration::from_millis(20), Duration::from_secs(10));
    let client = Client::connect_with(&addr, opts).await.unwrap();
    // This call holds the whole budget for ever.
    let stuck = {
        let c = client.clone();
        tokio::spawn(async move {
            c.call::<Raw, Raw>("Slow", "Never", &Raw::from(vec![0u8; 64]))
                .await
        })
    };
    wait_for(&client, "the call to be pending", |s| s.pending_calls >= 1).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while echoed.load(Ordering::SeqCst) < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "heartbeats did not go out while the budget was full"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!client.is_closed());
    stuck.abort();
    drop(client);
    server.abort();
}
