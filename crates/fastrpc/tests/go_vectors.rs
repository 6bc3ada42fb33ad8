//! Replays the requests a Go rpcx client sent (captured in `rpcx-vectors.txt`) against a
//! fastrpc server running the same test service, and compares fastrpc's replies with the Go
//! server's captured replies: byte for byte where the reply has at most one metadata key.

mod support;

use fastrpc::protocol::CompressType;
use support::*;

async fn exchange(req: &str) -> bytes::Bytes {
    let (running, _rx) = go_test_server().await;
    let mut c = RawConn::connect(running.socket_addr().unwrap()).await;
    c.send(&vector(req)).await;
    c.read_frame_bytes().await.expect("a reply")
}

#[tokio::test]
async fn replies_are_byte_identical_to_go() {
    let _panics = support::panics::guard();
    for (req, res) in [
        ("A1", "A2"),
        ("A3", "A4"),
        ("A5", "A6"),
        ("A11", "A12"),
        ("A16", "A17"),
    ] {
        let got = exchange(req).await;
        assert_eq!(
            hex(&got),
            hex(&vector(res)),
            "reply to {req} differs from Go's {res}"
        );
    }
}

#[tokio::test]
async fn error_reply_matches_go_semantically() {
    let _panics = support::panics::guard();
    // A8 has two metadata keys (order is random in Go), so compare decoded fields.
    let got = exchange("A7").await;
    let want = vector("A8");
    assert_eq!(got.len(), want.len());
    assert_eq!(got[..16], want[..16], "header and total length");
    let (g, w) = (decode(&got), decode(&want));
    assert_eq!(g.error_text(), w.error_text());
    assert_eq!(g.metadata.get("server"), Some("go-rpcx"));
    assert_eq!(g.payload, w.payload);
}

#[tokio::test]
async fn unknown_service_and_method_match_go() {
    let _panics = support::panics::guard();
    let (running, _rx) = go_test_server().await;
    let mut c = RawConn::connect(running.socket_addr().unwrap()).await;
    // A18 asks Arith.Mul with metadata k=v; A19 was Go's answer to a request for service Nope
    // with seq 1235: rebuild that request from A18.
    let mut nope = decode(&vector("A18"));
    nope.service_path = "Nope".into();
    nope.header.seq = 1235;
    nope.metadata.clear();
    c.send_msg(&nope).await;
    assert_eq!(
        hex(&c.read_frame_bytes().await.unwrap()),
        hex(&vector("A19"))
    );

    let mut no_method = nope.clone();
    no_method.service_path = "Arith".into();
    no_method.service_method = "NoSuch".into();
    no_method.header.seq = 3;
    c.send_msg(&no_method).await;
    let want = vector("A9");
    assert_eq!(hex(&c.read_frame_bytes().await.unwrap()), hex(&want));
}

#[tokio::test]
async fn gzip_request_gets_gzip_reply_like_go() {
    let _panics = support::panics::guard();
    let got = exchange("A14").await;
    let want = vector("A15");
    let (g, w) = (decode(&got), decode(&want));
    assert_eq!(g.header, w.header, "flags 0x84: response + gzip");
    assert_eq!(g.header.compress_type(), CompressType::GZIP);
    assert_eq!(g.payload, w.payload, "same 1025 bytes once decompressed");
    assert_eq!(g.metadata, w.metadata);
}

#[tokio::test]
async fn uncompressed_1024_bytes_and_oneway_like_go() {
    let _panics = support::panics::guard();
    let (running, mut notified) = go_test_server().await;
    let mut c = RawConn::connect(running.socket_addr().unwrap()).await;
    // A10 is oneway: Notify runs and nothing is sent back.
    c.send(&vector("A10")).await;
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), notified.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.a, got.b), (1010, 0));
    // A13: 1024 bytes with the gzip option stays uncompressed both ways. The first frame we
    // read must be its reply, proving the oneway request was not answered.
    c.send(&vector("A13")).await;
    let reply = c.read_msg().await.unwrap();
    assert_eq!(reply.header.seq, 2);
    assert_eq!(reply.header.compress_type(), CompressType::NONE);
    assert_eq!(reply.payload.len(), 1024);
}
