//! Thrift (serialize type 4) over real TCP: a fastrpc client calling a fastrpc server, with
//! and without gzip, and the server answering the frame a Go rpcx client sent.
#![cfg(feature = "thrift")]

mod support;

#[path = "../../codec/tests/thrift_types/mod.rs"]
mod thrift_types;

use fastrpc::codec::Thrift;
use fastrpc::protocol::{CompressType, Message, MessageStatusType, ProtocolError};
use fastrpc::server::{Connection, PluginError, ServerPlugin};
use fastrpc::{Client, ClientOptions, Context, SerializeType, Server, ServiceError};
use std::sync::{Arc, Mutex};
use support::{RawConn, hex, vector};
use thrift_types::{Args, Everything, Inner, Reply};

/// Records the serialize and compress type of every request the server reads.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(SerializeType, CompressType)>>>);

impl ServerPlugin for Seen {
    fn post_read_request(
        &self,
        _c: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        if let Ok(m) = msg {
            let h = &m.header;
            self.0
                .lock()
                .unwrap()
                .push((h.serialize_type(), h.compress_type()));
        }
        Ok(())
    }
}

async fn thrift_server(seen: Seen) -> fastrpc::server::ServerHandle {
    Server::builder()
        .handler(
            "Arith",
            "Mul",
            |_c: Context, args: Thrift<Args>| async move {
                Ok::<_, ServiceError>(Thrift(Reply {
                    c: args.a.wrapping_mul(args.b),
                }))
            },
        )
        .handler(
            "Thrift",
            "Bump",
            |_c: Context, v: Thrift<Everything>| async move {
                let mut v = v.into_inner();
                v.count += 1;
                v.numbers.push(v.count);
                v.maybe = Some(v.big);
                Ok::<_, ServiceError>(Thrift(v))
            },
        )
        .plugin(seen)
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap()
}

fn big_everything() -> Everything {
    Everything {
        flag: true,
        count: 41,
        big: -1,
        ratio: 0.25,
        name: "naïve".into(),
        data: (0..5000u32).map(|i| (i % 7) as u8).collect(),
        numbers: vec![1, 2, 3],
        scores: [("a".to_owned(), 1), ("b".to_owned(), -2)].into(),
        inner: Inner {
            id: 9,
            name: "inner".into(),
        },
        note: Some("note".into()),
        maybe: None,
    }
}

#[tokio::test]
async fn thrift_call_over_tcp_with_and_without_gzip() {
    let _panics = support::panics::guard();
    let seen = Seen::default();
    let srv = thrift_server(seen.clone()).await;
    let addr = format!("tcp@{}", srv.local_addr());
    let plain = Client::connect(&addr).await.unwrap();
    let gzip = Client::connect_with(
        &addr,
        ClientOptions::default().compress_type(CompressType::GZIP),
    )
    .await
    .unwrap();

    // Thrift<T> chooses serialize type 4 itself, whatever the client's default (msgpack).
    let r: Thrift<Reply> = plain
        .call("Arith", "Mul", &Thrift(Args { a: 6, b: 7 }))
        .await
        .unwrap();
    assert_eq!(r.c, 42);

    let sent = big_everything();
    let mut want = sent.clone();
    want.count = 42;
    want.numbers.push(42);
    want.maybe = Some(-1);
    for client in [&plain, &gzip] {
        let back: Thrift<Everything> = client
            .call("Thrift", "Bump", &Thrift(sent.clone()))
            .await
            .unwrap();
        assert_eq!(back.0, want);
    }
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (SerializeType::THRIFT, CompressType::NONE),
            (SerializeType::THRIFT, CompressType::NONE),
            // over 1024 bytes with a gzip client: compressed on the wire
            (SerializeType::THRIFT, CompressType::GZIP),
        ]
    );
}

#[tokio::test]
async fn the_server_answers_the_frame_a_go_client_sent() {
    let _panics = support::panics::guard();
    let srv = thrift_server(Seen::default()).await;
    let mut conn = RawConn::connect(srv.socket_addr().unwrap()).await;
    // C42: a Go rpcx client calling Arith.Mul {A: 7, B: 8} with serialize type 4, seq 1.
    conn.send(&vector("C42")).await;
    let res = conn.read_msg().await.expect("a reply");
    assert_eq!(res.header.status(), MessageStatusType::Normal, "{res:?}");
    assert_eq!(res.header.serialize_type(), SerializeType::THRIFT);
    assert_eq!(res.header.seq, 1);
    // i64 field 1 = 56, stop: what Go's ThriftCodec writes for Reply{C: 56}.
    assert_eq!(hex(&res.payload), "0a0001000000000000003800");
}

#[tokio::test]
async fn a_malformed_thrift_payload_is_an_error_reply() {
    let _panics = support::panics::guard();
    let srv = thrift_server(Seen::default()).await;
    let client = Client::connect(&format!("tcp@{}", srv.local_addr()))
        .await
        .unwrap();
    let mut req = Message::request("Arith", "Mul");
    req.header.set_serialize_type(SerializeType::THRIFT);
    // string field 1 announcing 2 GiB in a 9-byte payload
    req.payload = bytes::Bytes::from_static(&[0x0b, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff, 0, 0]);
    let res = client.send_raw(req, None).await.unwrap().unwrap();
    assert_eq!(res.header.status(), MessageStatusType::Error);
    let text = res.metadata.get("__rpcx_error__").unwrap().to_string();
    assert!(text.starts_with("thrift: "), "{text}");
    // The connection still serves calls.
    let r: Thrift<Reply> = client
        .call("Arith", "Mul", &Thrift(Args { a: 2, b: 3 }))
        .await
        .unwrap();
    assert_eq!(r.c, 6);
}
