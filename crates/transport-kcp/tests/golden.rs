//! Golden tests: expected bytes come from `data/make_vectors.py` (Python's `cryptography`,
//! `zlib.crc32`, `hashlib.pbkdf2_hmac`, and a Reed-Solomon matrix written from klauspost's
//! definition), never from this crate.

mod support;

use fastrpc_transport_kcp::{
    BlockCrypt, KCP_GO_AES_IV, KcpConfig, KcpListener, KcpStream, rpcx_example_key,
};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

#[test]
fn aes_cfb_under_the_fixed_iv_matches_python_cryptography() {
    for n in [16, 24, 32] {
        let crypt = BlockCrypt::aes(&vector(&format!("key_{n}"))).unwrap();
        for len in [37, 1400] {
            let plain = vector(&format!("plain_{len}"));
            let mut buf = plain.clone();
            crypt.encrypt(&mut buf);
            assert_eq!(
                buf,
                vector(&format!("cfb_{n}_{len}")),
                "AES-{} over {len} bytes",
                n * 8
            );
            crypt.decrypt(&mut buf);
            assert_eq!(buf, plain);
        }
    }
    let mut buf = vector("plain_1400");
    BlockCrypt::rpcx_example().encrypt(&mut buf);
    assert_eq!(buf, vector("cfb_rpcx_1400"));
}

#[test]
fn rpcx_example_key_matches_python_pbkdf2() {
    assert_eq!(rpcx_example_key().to_vec(), vector("rpcx_example_key"));
}

#[test]
fn the_tests_own_crc32_matches_zlib() {
    for (name, data) in [
        ("empty", Vec::new()),
        ("digits", b"123456789".to_vec()),
        ("plain_1400", vector("plain_1400")),
    ] {
        let want = vector(&format!("crc_{name}"));
        assert_eq!(crc32_bitwise(&data).to_le_bytes().to_vec(), want, "{name}");
    }
}

async fn accept_hand_built_hello(crypt: BlockCrypt, datagram: Vec<u8>) {
    let mut listener = KcpListener::bind("127.0.0.1:0", KcpConfig::new(crypt))
        .await
        .unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    peer.send_to(&datagram, listener.local_addr())
        .await
        .unwrap();
    let (mut stream, from) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, peer.local_addr().unwrap());
    assert_eq!(stream.conv(), 0x1122_3344);
    let mut hello = [0u8; 5];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut hello))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&hello, b"hello");
    // The session answers with an ACK for sn 0, under the same framing.
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(PATIENCE, peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(n >= 28 + 24);
    assert_eq!(listener.stats().dropped_checksum, 0);
}

#[tokio::test]
async fn a_datagram_built_the_kcp_go_way_is_accepted_aes() {
    accept_hand_built_hello(BlockCrypt::rpcx_example(), vector("hello_aes")).await;
}

#[tokio::test]
async fn a_datagram_built_the_kcp_go_way_is_accepted_none() {
    accept_hand_built_hello(BlockCrypt::none(), vector("hello_none")).await;
}

/// What one received datagram says, read by hand per §3.6.
struct Parsed {
    seqid: u32,
    flag: u16,
    size: u16,
    kcp: Vec<u8>,
}

fn parse_by_hand(d: &[u8]) -> Parsed {
    let crc = u32::from_le_bytes(d[16..20].try_into().unwrap());
    assert_eq!(
        crc,
        crc32_bitwise(&d[20..]),
        "CRC32 over every byte after offset 20"
    );
    let size = u16::from_le_bytes([d[26], d[27]]);
    Parsed {
        seqid: u32::from_le_bytes(d[20..24].try_into().unwrap()),
        flag: u16::from_le_bytes([d[24], d[25]]),
        size,
        kcp: d[28..].to_vec(),
    }
}

async fn fastrpc_writes_section_3_6(crypt: BlockCrypt, aes: bool) {
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut stream = KcpStream::connect(peer.local_addr().unwrap(), KcpConfig::new(crypt))
        .await
        .unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(PATIENCE, peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let mut d = buf[..n].to_vec();
    if aes {
        cfb256_decrypt_by_hand(&vector("rpcx_example_key"), &KCP_GO_AES_IV, &mut d);
    }
    let p = parse_by_hand(&d);
    assert_eq!(n, 28 + 24 + 4);
    assert_eq!((p.seqid, p.flag), (0, 0xf1), "first data shard");
    assert_eq!(usize::from(p.size), n - 26, "size counts its own 2 bytes");
    let k = &p.kcp;
    assert_eq!(
        u32::from_le_bytes(k[0..4].try_into().unwrap()),
        stream.conv()
    );
    assert_eq!(
        (k[4], k[5]),
        (81, 0),
        "cmd PUSH, frg 0 (message mode, one MSS)"
    );
    assert_eq!(u16::from_le_bytes([k[6], k[7]]), 32, "receive window 32");
    assert_eq!(u32::from_le_bytes(k[12..16].try_into().unwrap()), 0, "sn");
    assert_eq!(u32::from_le_bytes(k[16..20].try_into().unwrap()), 0, "una");
    assert_eq!(u32::from_le_bytes(k[20..24].try_into().unwrap()), 4, "len");
    assert_eq!(&k[24..], b"ping");
}

#[tokio::test]
async fn a_datagram_fastrpc_writes_parses_as_section_3_6_aes() {
    fastrpc_writes_section_3_6(BlockCrypt::rpcx_example(), true).await;
}

#[tokio::test]
async fn a_datagram_fastrpc_writes_parses_as_section_3_6_none() {
    fastrpc_writes_section_3_6(BlockCrypt::none(), false).await;
}

/// A writer that sends more than one MSS cuts it into one-fragment messages, as kcp-go does.
#[tokio::test]
async fn large_writes_are_cut_at_the_mss() {
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut stream = KcpStream::connect(
        peer.local_addr().unwrap(),
        KcpConfig::new(BlockCrypt::none()),
    )
    .await
    .unwrap();
    stream.write_all(&[9u8; 1348 + 10]).await.unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(PATIENCE, peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1400, "a full datagram is the MTU");
    let p = parse_by_hand(&buf[..n]);
    assert_eq!(p.kcp[5], 0, "frg 0");
    assert_eq!(
        u32::from_le_bytes(p.kcp[20..24].try_into().unwrap()),
        1348,
        "one MSS"
    );
}

/// kcp-go's parity, computed by the Python script, rebuilds three data shards that never
/// arrive; the peer never retransmits, so only parity can deliver them.
#[tokio::test]
async fn parity_recovers_dropped_data_shards() {
    let mut listener = KcpListener::bind("127.0.0.1:0", KcpConfig::rpcx_example())
        .await
        .unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dropped = [2, 5, 7];
    for i in (0..13).filter(|i| !dropped.contains(i)) {
        peer.send_to(&vector(&format!("group_shard_{i}")), listener.local_addr())
            .await
            .unwrap();
    }
    let (mut stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();
    for sn in 0..10 {
        let want = vector(&format!("group_payload_{sn}"));
        let mut got = vec![0u8; want.len()];
        tokio::time::timeout(PATIENCE, stream.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, want, "message {sn}");
    }
    let s = listener.stats();
    assert_eq!(s.fec_recovered, 3);
    assert_eq!(s.fec_parity_in, 3);
}
