//! What the fastrpc client puts on the wire, compared with what the Go rpcx client sent in
//! the captured vectors: the same bytes for the same calls.

mod support;

use fastrpc::{CallOptions, Client, ClientOptions, Raw, SerializeType};
use std::time::Duration;
use support::*;
use tokio::net::TcpListener;

/// Accepts one connection and returns the raw frames the client sends.
async fn capture() -> (std::net::SocketAddr, tokio::task::JoinHandle<RawConn>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let h = tokio::spawn(async move {
        let (stream, _) = l.accept().await.unwrap();
        RawConn::from_stream(stream)
    });
    (addr, h)
}

#[tokio::test]
async fn requests_are_byte_identical_to_the_go_client() {
    let (addr, accepted) = capture().await;
    let client = Client::connect(&addr.to_string()).await.unwrap();
    let mut server = accepted.await.unwrap();
    let args = GoArgs { a: 7, b: 8 };

    // Each call waits for a reply that never comes; what matters is what was sent.
    let send = |st: SerializeType| {
        let c = client.clone();
        tokio::spawn(async move {
            let _ = c
                .call_with::<_, GoReply>(
                    "Arith",
                    "Mul",
                    &args,
                    CallOptions::default().serialize_type(st),
                )
                .await;
        })
    };
    // A1, A3, A5: JSON, MsgPack, Protobuf requests of Arith.Mul {A:7, B:8}, seq 0, 1, 2 here.
    for (i, (st, vector_name)) in [
        (SerializeType::JSON, "A1"),
        (SerializeType::MSGPACK, "A3"),
        (SerializeType::PROTOBUF, "A5"),
    ]
    .into_iter()
    .enumerate()
    {
        let _call = send(st);
        let got = server.read_frame_bytes().await.unwrap();
        let mut want = vector(vector_name);
        want[4..12].copy_from_slice(&(i as u64).to_be_bytes()); // Go's capture used seq 0 each time
        assert_eq!(hex(&got), hex(&want), "{vector_name}");
    }
    // A11: raw Echo.Echo, serialize type none (chosen by the Raw argument itself), seq 3.
    let c = client.clone();
    let _call = tokio::spawn(async move {
        c.call::<_, Raw>(
            "Echo",
            "Echo",
            &Raw::from(vec![0x00, 0xff, 0x08, 0x80, 0x01, 0xfe]),
        )
        .await
    });
    let got = server.read_frame_bytes().await.unwrap();
    let mut want = vector("A11");
    want[4..12].copy_from_slice(&3u64.to_be_bytes());
    assert_eq!(hex(&got), hex(&want));
    // A10: a oneway request.
    client
        .oneway(
            "Arith",
            "Notify",
            &GoArgs { a: 1010, b: 0 },
            CallOptions::default().serialize_type(SerializeType::JSON),
        )
        .await
        .unwrap();
    let got = server.read_frame_bytes().await.unwrap();
    let mut want = vector("A10");
    want[4..12].copy_from_slice(&4u64.to_be_bytes());
    assert_eq!(hex(&got), hex(&want));
}

#[tokio::test]
async fn gzip_request_above_the_threshold_decodes_like_go() {
    let (addr, accepted) = capture().await;
    let client = Client::connect_with(
        &addr.to_string(),
        ClientOptions::default().compress_type(fastrpc::CompressType::GZIP),
    )
    .await
    .unwrap();
    let mut server = accepted.await.unwrap();
    let payload: Vec<u8> = b"abcdefghijklmnopqrstuvwxyz"
        .iter()
        .copied()
        .cycle()
        .take(1025)
        .collect();
    let c = client.clone();
    let _call =
        tokio::spawn(async move { c.call::<_, Raw>("Echo", "Echo", &Raw::from(payload)).await });
    let got = server.read_msg().await.unwrap();
    let want = decode(&vector("A14"));
    assert_eq!(got.header.flags, want.header.flags, "gzip bit set like Go");
    assert_eq!(got.payload, want.payload);
}

#[tokio::test]
async fn heartbeats_share_the_sequence_counter() {
    let (addr, accepted) = capture().await;
    let opts =
        ClientOptions::default().heartbeat(Duration::from_millis(30), Duration::from_secs(5));
    let client = Client::connect_with(&addr.to_string(), opts).await.unwrap();
    let mut server = accepted.await.unwrap();
    // The first heartbeat takes seq 0, like any request; answer it as a Go server does.
    let hb = server.read_msg().await.unwrap();
    assert!(hb.header.is_heartbeat());
    assert_eq!(hb.header.seq, 0);
    assert_eq!(hb.header.serialize_type(), SerializeType::MSGPACK);
    assert!(hb.service_path.is_empty() && hb.service_method.is_empty());
    assert_eq!(hb.payload.len(), 9, "msgpack int64: 0xd3 + 8 bytes");
    assert_eq!(hb.payload[0], 0xd3);
    let mut echo = hb.clone();
    echo.header
        .set_message_type(fastrpc::protocol::MessageType::Response);
    server.send_msg(&echo).await;
    // The next frame, a call or another heartbeat, carries seq 1.
    let c = client.clone();
    let _call =
        tokio::spawn(async move { c.call::<_, Raw>("Echo", "Echo", &Raw::default()).await });
    let next = server.read_msg().await.unwrap();
    assert_eq!(next.header.seq, 1);
    assert!(!client.is_closed());
}
