//! Garbage sent to a listener is dropped and counted and harms no session; budgets hold; dead
//! and idle sessions end.

mod support;

use std::io::ErrorKind;
use std::time::Duration;

use fastrpc_server::Raw;
use fastrpc_transport_kcp::wire::{self, HEADER_SIZE};
use fastrpc_transport_kcp::{BlockCrypt, KcpConfig, KcpListener, KcpStream};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

/// A sealed data shard carrying `kcp` bytes.
fn data_shard(crypt: &BlockCrypt, seqid: u32, kcp: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; 20];
    d.extend_from_slice(&seqid.to_le_bytes());
    d.extend_from_slice(&wire::FLAG_DATA.to_le_bytes());
    d.extend_from_slice(&((kcp.len() + 2) as u16).to_le_bytes());
    d.extend_from_slice(kcp);
    wire::seal(crypt, &mut d);
    d
}

fn push(conv: u32, sn: u32, payload: &[u8]) -> Vec<u8> {
    let mut k = Vec::new();
    k.extend_from_slice(&conv.to_le_bytes());
    k.extend_from_slice(&[81, 0, 32, 0]);
    k.extend_from_slice(&0u32.to_le_bytes());
    k.extend_from_slice(&sn.to_le_bytes());
    k.extend_from_slice(&0u32.to_le_bytes());
    k.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    k.extend_from_slice(payload);
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_harms_no_session() {
    let cfg = KcpConfig::rpcx_example();
    let mut running = serve(cfg.clone()).await;
    let client = client(running.addr, cfg.clone()).await;
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(b"before".to_vec()))
        .await
        .unwrap();
    assert_eq!(&r[..], b"before");

    let crypt = cfg.crypt.clone();
    let evil = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut junk: Vec<Vec<u8>> = Vec::new();
    // Short: below 28 + 24 bytes, including empty.
    for n in [0usize, 1, 20, 27, 51] {
        junk.push(vec![0xAB; n]);
    }
    // Random-looking bytes of every size: fail the CRC.
    for n in [52usize, 100, 700, 1400, 1500] {
        junk.push((0..n).map(|i| (i * 131 + 7) as u8).collect());
    }
    // Valid framing under another key, and under "none".
    junk.push(data_shard(
        &BlockCrypt::aes(&[3u8; 32]).unwrap(),
        0,
        &push(5, 0, b"x"),
    ));
    junk.push(data_shard(&BlockCrypt::none(), 0, &push(5, 0, b"x")));
    // Right key, wrong insides: a bad FEC flag, a size field past the end, a size below 2, KCP
    // segments with an unknown command or a length past the end, a parity shard of a stranger.
    let mut bad_flag = data_shard(&BlockCrypt::none(), 0, &push(6, 0, b"x"));
    bad_flag[24] = 0x99;
    wire::seal(&crypt, &mut bad_flag);
    junk.push(bad_flag);
    for size in [0u16, 1, 4000] {
        let mut d = vec![0u8; 20];
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&wire::FLAG_DATA.to_le_bytes());
        d.extend_from_slice(&size.to_le_bytes());
        d.extend_from_slice(&push(7, 0, b"y"));
        wire::seal(&crypt, &mut d);
        junk.push(d);
    }
    let mut bad_cmd = push(8, 0, b"z");
    bad_cmd[4] = 99;
    junk.push(data_shard(&crypt, 0, &bad_cmd));
    let mut bad_len = push(9, 0, b"z");
    bad_len[20..24].copy_from_slice(&1000u32.to_le_bytes());
    junk.push(data_shard(&crypt, 0, &bad_len));
    let mut parity = vec![0u8; 20];
    parity.extend_from_slice(&10u32.to_le_bytes());
    parity.extend_from_slice(&wire::FLAG_PARITY.to_le_bytes());
    parity.extend_from_slice(&[1u8; 60]);
    wire::seal(&crypt, &mut parity);
    junk.push(parity);

    // Rounds small enough for the socket's receive buffer: UDP drops what overflows it.
    let rounds = 3u64;
    let mut s = running.stats.borrow().to_owned();
    for _ in 0..rounds {
        let want = s.datagrams_in + junk.len() as u64;
        for d in &junk {
            evil.send_to(d, running.addr).await.unwrap();
        }
        s = wait_stats(&mut running, |s| s.datagrams_in >= want).await;
    }
    assert!(s.dropped_short >= rounds * 5, "{s:?}");
    assert!(s.dropped_checksum >= rounds * 7, "{s:?}");
    assert!(s.dropped_malformed >= rounds * 5, "{s:?}");
    assert!(s.dropped_no_session >= rounds * 2, "{s:?}");
    assert_eq!(
        s.sessions_active, 1,
        "only the real client has a session: {s:?}"
    );

    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(b"after".to_vec()))
        .await
        .unwrap();
    assert_eq!(&r[..], b"after");
}

#[tokio::test]
async fn new_peers_beyond_the_session_budget_are_refused() {
    let mut cfg = KcpConfig::new(BlockCrypt::none());
    cfg.max_sessions = 2;
    cfg.accept_backlog = 8;
    let mut listener = KcpListener::bind("127.0.0.1:0", cfg).await.unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for conv in 1..=5u32 {
        let d = data_shard(&BlockCrypt::none(), 0, &push(conv, 0, b"hi"));
        peer.send_to(&d, listener.local_addr()).await.unwrap();
    }
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(
            tokio::time::timeout(PATIENCE, listener.accept())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while listener.stats().sessions_refused < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            listener.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = listener.stats();
    assert_eq!((s.sessions_active, s.sessions_refused), (2, 3));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), listener.accept())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_full_accept_backlog_refuses_new_peers() {
    let mut cfg = KcpConfig::new(BlockCrypt::none());
    cfg.accept_backlog = 1;
    let listener = KcpListener::bind("127.0.0.1:0", cfg).await.unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for conv in 1..=3u32 {
        let d = data_shard(&BlockCrypt::none(), 0, &push(conv, 0, b"hi"));
        peer.send_to(&d, listener.local_addr()).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while listener.stats().sessions_refused < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            listener.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listener.stats().sessions_active, 1);
}

#[tokio::test]
async fn a_silent_session_times_out_and_leaves_the_table() {
    let mut cfg = KcpConfig::new(BlockCrypt::none());
    cfg.idle_timeout = Some(Duration::from_millis(500));
    let mut listener = KcpListener::bind("127.0.0.1:0", cfg).await.unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    peer.send_to(
        &data_shard(&BlockCrypt::none(), 0, &push(42, 0, b"hi")),
        listener.local_addr(),
    )
    .await
    .unwrap();
    let (mut stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut hi = [0u8; 2];
    stream.read_exact(&mut hi).await.unwrap();
    let e = tokio::time::timeout(PATIENCE, stream.read(&mut hi))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    let s = listener.stats();
    assert_eq!((s.sessions_active, s.sessions_timed_out), (0, 1), "{s:?}");
}

#[tokio::test]
async fn a_peer_that_never_acknowledges_is_a_dead_link() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = KcpConfig::new(BlockCrypt::none());
    cfg.dead_link = 3;
    cfg.idle_timeout = None;
    let mut stream = KcpStream::connect(silent.local_addr().unwrap(), cfg)
        .await
        .unwrap();
    stream.write_all(b"anyone?").await.unwrap();
    let mut buf = [0u8; 8];
    let e = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(stream.stats().sessions_timed_out, 1);
    assert!(stream.write_all(b"more").await.is_err());
}

#[test]
fn the_session_budget_is_finite_and_documented() {
    let cfg = KcpConfig::rpcx_example();
    let per = cfg.session_budget_bytes();
    assert!(per > 128 * (HEADER_SIZE + 24) && per < 1 << 20, "{per}");
    assert_eq!(cfg.listener_budget_bytes(), 256 * per);
    assert!(cfg.listener_budget_bytes() < 80 << 20);
}

/// A peer that floods a session nobody reads fills at most its windows: the session's own
/// accounting stays under the documented budget.
#[tokio::test]
async fn an_unread_session_holds_no_more_than_its_budget() {
    let cfg = KcpConfig::new(BlockCrypt::none());
    let budget = cfg.session_budget_bytes();
    let mut listener = KcpListener::bind("127.0.0.1:0", cfg).await.unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = listener.local_addr();
    let shard = |sn: u32| data_shard(&BlockCrypt::none(), sn, &push(77, sn, &[sn as u8; 1000]));
    peer.send_to(&shard(0), to).await.unwrap();
    let (stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();
    for _round in 0..3 {
        for sn in 1..400u32 {
            peer.send_to(&shard(sn), to).await.unwrap();
            if sn % 8 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        // UDP may drop some of the burst; wait until the listener has read what arrived.
        let mut seen = listener.stats().datagrams_in;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = listener.stats().datagrams_in;
            if now == seen {
                break;
            }
            seen = now;
        }
        let held = stream.buffered_bytes();
        assert!(held <= budget, "{held} > {budget}");
        assert!(held <= 2 * 32 * 1000 + 3 * 13 * 1100 + 1024 * 8, "{held}");
    }
    let held = stream.buffered_bytes();
    assert!(held >= 32 * 1000, "the receive window filled: {held}");
}

/// Traffic of a conversation the listener no longer has (its sn has moved on) or a bare ACK
/// opens no session; a PUSH in the first window does.
#[tokio::test]
async fn only_the_start_of_a_conversation_opens_a_session() {
    let mut listener = KcpListener::bind("127.0.0.1:0", KcpConfig::new(BlockCrypt::none()))
        .await
        .unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = listener.local_addr();
    let mut ack = push(60, 0, b"");
    ack[4] = 82;
    peer.send_to(&data_shard(&BlockCrypt::none(), 0, &ack), to)
        .await
        .unwrap();
    peer.send_to(
        &data_shard(&BlockCrypt::none(), 1, &push(61, 500, b"late")),
        to,
    )
    .await
    .unwrap();
    peer.send_to(
        &data_shard(&BlockCrypt::none(), 2, &push(62, 3, b"early")),
        to,
    )
    .await
    .unwrap();
    let (stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stream.conv(),
        62,
        "a PUSH with sn 3 is the start of a conversation"
    );
    let s = listener.stats();
    assert_eq!((s.sessions_active, s.dropped_no_session), (1, 2), "{s:?}");
}
