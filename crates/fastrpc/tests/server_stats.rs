//! `Server::stats()` after known traffic over real sockets: bytes both ways, calls, handler
//! and read errors, accepted, refused and open connections.

mod support;

use fastrpc::protocol::Message;
use fastrpc::server::ServerStats;
use fastrpc::{Context, Raw, SerializeType, Server, ServerOptions, ServiceError};
use std::time::Duration;
use support::*;

/// Polls the server's stats until `cond` holds (counters are updated as the socket calls
/// return, a moment after the peer sees the bytes).
async fn wait_for(srv: &Server, what: &str, cond: impl Fn(&ServerStats) -> bool) -> ServerStats {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = srv.stats();
        if cond(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {s:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn request(method: &str, seq: u64) -> Vec<u8> {
    let mut m = Message::request("Echo", method.to_owned());
    m.header.seq = seq;
    m.header.set_serialize_type(SerializeType::NONE);
    m.payload = bytes::Bytes::from_static(b"abc");
    m.to_bytes().unwrap().to_vec()
}

#[tokio::test]
async fn stats_count_known_traffic() {
    let _panics = support::panics::guard();
    let handle = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .options(ServerOptions::default().max_connections(2))
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let srv = handle.server().clone();
    let addr = handle.socket_addr().unwrap();
    assert_eq!(srv.stats(), ServerStats::default());

    // Three calls, one to an unknown method, and a heartbeat (not a call).
    let mut conn = RawConn::connect(addr).await;
    let (mut sent, mut received) = (0, 0);
    let mut frames: Vec<Vec<u8>> = (0..3).map(|seq| request("Echo", seq)).collect();
    frames.push(request("Nope", 3));
    frames.push(Message::heartbeat(4, 0).to_bytes().unwrap().to_vec());
    for frame in &frames {
        conn.send(frame).await;
        sent += frame.len() as u64;
        received += conn.read_frame_bytes().await.unwrap().len() as u64;
    }
    let s = wait_for(&srv, "replies written", |s| s.bytes_written == received).await;
    assert_eq!(s.bytes_read, sent);
    assert_eq!(s.calls, 4);
    assert_eq!(s.handler_errors, 1);
    assert_eq!((s.read_errors, s.write_errors, s.accept_errors), (0, 0, 0));
    assert_eq!((s.accepted_connections, s.open_connections), (1, 1));

    // A frame with a bad magic number: a read error, and the connection is closed.
    let mut bad = RawConn::connect(addr).await;
    bad.send(&[0u8; 16]).await;
    assert!(bad.closed_by_server().await);
    let s = wait_for(&srv, "bad frame", |s| {
        s.read_errors == 1 && s.open_connections == 1
    })
    .await;
    assert_eq!(s.bytes_read, sent + 16);
    assert_eq!(s.accepted_connections, 2);

    // At the cap of two open connections, a third is refused.
    let _second = RawConn::connect(addr).await;
    wait_for(&srv, "second accepted", |s| s.open_connections == 2).await;
    let mut third = RawConn::connect(addr).await;
    assert!(third.closed_by_server().await);
    let s = wait_for(&srv, "third refused", |s| s.refused_connections == 1).await;
    assert_eq!(s.accepted_connections, 3);

    drop((conn, _second, third));
    wait_for(&srv, "all closed", |s| s.open_connections == 0).await;
    assert!(handle.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn client_and_server_stats_agree_on_bytes_and_calls() {
    let _panics = support::panics::guard();
    let handle = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let srv = handle.server().clone();
    let client = fastrpc::Client::connect(handle.addr()).await.unwrap();
    for _ in 0..5 {
        let r: Raw = client
            .call("Echo", "Echo", &Raw::from(&b"hello"[..]))
            .await
            .unwrap();
        assert_eq!(&r[..], b"hello");
    }
    let c = client.stats();
    assert_eq!(c.calls, 5);
    assert!(c.bytes_written > 5 * 5, "{c:?}");
    assert_eq!((c.read_errors, c.write_errors), (0, 0));
    // One connection: what one side wrote, the other read.
    let s = wait_for(&srv, "server caught up", |s| {
        s.bytes_read == c.bytes_written && s.bytes_written == c.bytes_read
    })
    .await;
    assert_eq!(s.calls, 5);
    client.close();
    wait_for(&srv, "closed", |s| s.open_connections == 0).await;
    assert!(handle.shutdown(Duration::from_secs(10)).await);
}
