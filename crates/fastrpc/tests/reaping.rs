//! Connection reaping and caps over real sockets: keep-alive on accepted connections, no idle
//! timeout by default (Go clients keep idle connections for ever), the frame time limit, the
//! connection cap, the raised fd limit, and metadata limits with a typed error reply.

mod budget_support;

use budget_support::*;
use bytes::{BufMut, Bytes, BytesMut};
use fastrpc::protocol::Limits;
use fastrpc::{Client, Context, Raw, Server, ServerOptions, ServiceError};
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn echo(opts: ServerOptions) -> Server {
    Server::builder()
        .options(opts)
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .build()
}

/// The keep-alive time of this process's socket from `local` to `peer`, found among its fds.
fn keepalive_of_socket(local: SocketAddr, peer: SocketAddr) -> Option<Option<Duration>> {
    for entry in std::fs::read_dir("/proc/self/fd").ok()? {
        let Ok(fd) = entry.ok()?.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // SAFETY: the fd is open in this process for the duration of this call (it may be
        // closed by another thread meanwhile; then the calls below fail and it is skipped).
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let sock = socket2::SockRef::from(&borrowed);
        let (Ok(l), Ok(p)) = (sock.local_addr(), sock.peer_addr()) else {
            continue;
        };
        if l.as_socket() == Some(local) && p.as_socket() == Some(peer) {
            if !sock.keepalive().ok()? {
                return Some(None);
            }
            return Some(sock.tcp_keepalive_time().ok());
        }
    }
    None
}

#[tokio::test]
async fn accepted_connections_keep_alive_for_3_minutes() {
    let srv = echo(ServerOptions::default())
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let server = srv.server().clone();
    let client = TcpStream::connect(srv.socket_addr().unwrap())
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "connection served", || {
        server.connections().len() == 1
    })
    .await;
    let found = keepalive_of_socket(srv.socket_addr().unwrap(), client.local_addr().unwrap())
        .expect("the server's side of the connection");
    assert_eq!(found, Some(Duration::from_secs(180)));
}

#[tokio::test]
async fn serving_raises_the_fd_soft_limit_to_the_hard_limit() {
    let srv = echo(ServerOptions::default())
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    assert_eq!(lim.rlim_cur, lim.rlim_max);
    drop(srv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_idle_timeout_by_default() {
    let opts = ServerOptions::default();
    assert_eq!(opts.idle_timeout, None);
    assert_eq!(opts.read_timeout, None);
    assert_eq!(opts.write_timeout, Some(Duration::from_secs(60)));
    let srv = echo(opts).serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(&b"a"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"a");
    // An idle Go client keeps its connection and never reconnects: still served later.
    assert!(
        tokio::time::timeout(Duration::from_secs(2), client.closed())
            .await
            .is_err(),
        "the server closed an idle connection"
    );
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(&b"b"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_not_completed_in_time_closes_its_connection() {
    assert_eq!(
        ServerOptions::default().frame_timeout,
        Some(Duration::from_secs(30))
    );
    let srv = echo(ServerOptions::default().frame_timeout(Duration::from_millis(300)))
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let server = srv.server().clone();
    // A header announcing 15 MiB, then 100 KiB of it, then nothing.
    let mut slow = TcpStream::connect(srv.socket_addr().unwrap())
        .await
        .unwrap();
    let mut head = BytesMut::new();
    head.put_slice(&[0x08, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 1]);
    head.put_u32(15 << 20);
    head.put_slice(&vec![0u8; 100 * 1024]);
    slow.write_all(&head).await.unwrap();
    eventually(Duration::from_secs(10), "partial bytes accounted", || {
        server.budget_usage().partial_frame_bytes > 0
    })
    .await;
    assert!(server.budget_usage().partial_frame_bytes < 1 << 20);
    // Others are served meanwhile.
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(&b"x"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"x");
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut b))
        .await
        .expect("closed at the frame time limit");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    eventually(Duration::from_secs(10), "partial bytes given back", || {
        server.budget_usage().partial_frame_bytes == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_at_once() {
    assert_eq!(ServerOptions::default().max_connections, 10_000);
    let srv = echo(ServerOptions::default().max_connections(3))
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let server = srv.server().clone();
    let addr = srv.local_addr().to_string();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Client::connect(&addr).await.unwrap());
    }
    eventually(Duration::from_secs(10), "3 open", || {
        server.budget_usage().open_connections == 3
    })
    .await;
    // The fourth is closed at once.
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(10), extra.read(&mut b))
        .await
        .expect("refused at once");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    assert_eq!(server.budget_usage().open_connections, 3);
    // The others are served; when one leaves, a new one is admitted.
    let r: Raw = held[0]
        .call("Echo", "Echo", &Raw::from(&b"ok"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"ok");
    let gone = held.pop().unwrap();
    gone.close();
    drop(gone);
    eventually(Duration::from_secs(10), "one left", || {
        server.budget_usage().open_connections == 2
    })
    .await;
    let again = Client::connect(&addr).await.unwrap();
    let r: Raw = again
        .call("Echo", "Echo", &Raw::from(&b"again"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"again");
}

/// A request frame whose metadata block holds `pairs` small pairs.
fn frame_with_pairs(seq: u64, pairs: usize) -> Bytes {
    let mut m = fastrpc::protocol::Message::request("Echo", "Echo");
    m.header.seq = seq;
    for i in 0..pairs {
        m.metadata.insert(format!("k{i}"), "v");
    }
    m.payload = Bytes::from_static(b"p");
    m.to_bytes().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_beyond_the_limits_gets_a_typed_error_reply() {
    let d = Limits::default();
    assert_eq!(
        (d.max_metadata_pairs, d.max_metadata_len),
        (1024, 64 * 1024)
    );
    let limits = Limits {
        max_metadata_pairs: 100,
        max_metadata_len: 4096,
        ..Limits::default()
    };
    let srv = echo(ServerOptions::default().limits(limits))
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let (mut w, mut r) = raw(srv.socket_addr().unwrap()).await;
    w.write_all(&frame_with_pairs(1, 101)).await.unwrap();
    w.write_all(&frame_with_pairs(2, 50)).await.unwrap();
    let mut big = fastrpc::protocol::Message::request("Echo", "Echo");
    big.header.seq = 3;
    big.metadata.insert("k", "v".repeat(5000));
    w.write_all(&big.to_bytes().unwrap()).await.unwrap();
    w.write_all(&frame_with_pairs(4, 0)).await.unwrap();

    let too_many = r
        .next_within(Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(too_many.header.seq, 1);
    assert!(too_many.header.is_error());
    assert_eq!(
        too_many.metadata.get("__rpcx_error__"),
        Some("metadata is too large: pairs 101, limit 100")
    );
    let fine = r
        .next_within(Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((fine.header.seq, fine.header.is_error()), (2, false));
    let too_long = r
        .next_within(Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(too_long.header.seq, 3);
    assert!(
        too_long
            .metadata
            .get("__rpcx_error__")
            .unwrap()
            .starts_with("metadata is too large: bytes"),
        "{too_long:?}"
    );
    let last = r
        .next_within(Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((last.header.seq, last.header.is_error()), (4, false));
}
