//! `http@` CONNECT tunnelling (§2.4) on real sockets: Go's exact bytes, a real rpcx client over
//! the tunnel, and refused requests that harm no other connection.

mod support;

use fastrpc_client::{Client, ClientOptions};
use fastrpc_server::Raw;
use fastrpc_transport_http::{
    ConnectError, DEFAULT_HEAD_TIMEOUT, RPC_PATH, connect_handshake, dial, serve_connect,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

struct Connect {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Connect {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_connect(head_timeout: Duration) -> Connect {
    let server = server(Arc::new(AtomicUsize::new(0)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(serve_connect(server, listener, head_timeout));
    Connect { addr, task }
}

async fn rpcx_client(addr: SocketAddr) -> Client {
    let stream = dial(addr).await.unwrap();
    Client::from_io(stream, format!("http@{addr}"), ClientOptions::default())
}

async fn echo(client: &Client, text: &str) {
    let r: Raw = tokio::time::timeout(
        PATIENCE,
        client.call("Echo", "Echo", &Raw::from(text.as_bytes().to_vec())),
    )
    .await
    .expect("reply in time")
    .unwrap();
    assert_eq!(&r[..], text.as_bytes());
}

/// Reads until the peer closes (or `limit` bytes), for raw answers.
async fn read_all(s: &mut TcpStream, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while out.len() < limit {
        match tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .unwrap()
        {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_bytes_then_rpcx_frames() {
    let c = start_connect(DEFAULT_HEAD_TIMEOUT).await;
    // Exactly what Go's client writes, and exactly what Go's server answers.
    let mut s = TcpStream::connect(c.addr).await.unwrap();
    s.write_all(b"CONNECT /_rpcx_ HTTP/1.0\n\n").await.unwrap();
    let want = b"HTTP/1.0 200 Connected to rpcx\n\n";
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got[..], want);
    let client = Client::from_io(s, "http@test", ClientOptions::default());
    echo(&client, "through the tunnel").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_and_concurrent_calls() {
    let c = start_connect(DEFAULT_HEAD_TIMEOUT).await;
    let client = rpcx_client(c.addr).await;
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { echo(&client, &format!("call {i}")).await })
        })
        .collect();
    for t in calls {
        t.await.unwrap();
    }
    let big = "x".repeat(1 << 20);
    echo(&client, &big).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_harm_no_other_connection() {
    let c = start_connect(DEFAULT_HEAD_TIMEOUT).await;
    let live = rpcx_client(c.addr).await;
    echo(&live, "before").await;

    // CONNECT to a wrong path: 404, and the client says why.
    let s = TcpStream::connect(c.addr).await.unwrap();
    match connect_handshake(s, "/wrong").await {
        Err(ConnectError::UnexpectedStatus(status)) => assert_eq!(status, "404 Not Found"),
        other => panic!("expected a 404, got {other:?}"),
    }
    // Another method at /_rpcx_: 405 must CONNECT.
    let mut s = TcpStream::connect(c.addr).await.unwrap();
    s.write_all(b"GET /_rpcx_ HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let text = String::from_utf8(read_all(&mut s, 4096).await).unwrap();
    assert!(text.starts_with("HTTP/1.1 405 "), "{text}");
    assert!(text.ends_with("405 must CONNECT\n"), "{text}");
    // Garbage: 400.
    let mut s = TcpStream::connect(c.addr).await.unwrap();
    s.write_all(b"\x08\x01garbage\n\n").await.unwrap();
    let text = String::from_utf8_lossy(&read_all(&mut s, 4096).await).into_owned();
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    // A head cut off: the peer leaves mid-line.
    let mut s = TcpStream::connect(c.addr).await.unwrap();
    s.write_all(b"CONNECT /_rp").await.unwrap();
    drop(s);
    // A head that never ends within the size limit.
    let mut s = TcpStream::connect(c.addr).await.unwrap();
    let _ = s.write_all(&vec![b'a'; 20_000]).await;
    let _ = read_all(&mut s, 4096).await;

    echo(&live, "after").await;
    echo(&rpcx_client(c.addr).await, "new one").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_times_out() {
    let c = start_connect(Duration::from_millis(200)).await;
    let mut s = TcpStream::connect(c.addr).await.unwrap();
    // The server gives up on a peer that sends no head and closes the connection.
    let got = read_all(&mut s, 16).await;
    assert!(got.is_empty());
    echo(&rpcx_client(c.addr).await, "still serving").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_refuses_a_wrong_status() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 26];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"CONNECT /_rpcx_ HTTP/1.0\n\n");
        s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await.unwrap();
    });
    match dial(addr).await {
        Err(ConnectError::UnexpectedStatus(status)) => assert_eq!(status, "200 OK"),
        other => panic!("expected a refused status, got {other:?}"),
    }
    fake.await.unwrap();
    assert_eq!(RPC_PATH, "/_rpcx_");
}
