//! The example `Arith` service (`examples/common/arith.rs`) answering Thrift (serialize
//! type 4), as `examples/client.rs thrift` calls it and as a Go rpcx client sends it.
#![cfg(feature = "thrift")]

mod support;

#[path = "../../../examples/common/arith.rs"]
mod arith;

use arith::{Args, Reply};
use fastrpc::protocol::MessageStatusType;
use fastrpc::{CallOptions, Client, ClientError, SerializeType};
use support::{RawConn, hex, vector};

#[tokio::test]
async fn example_arith_answers_thrift() {
    let _panics = support::panics::guard();
    let server = arith::server().serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&format!("tcp@{}", server.local_addr()))
        .await
        .unwrap();
    let args = Args { a: 10, b: 20 };
    let opts = || CallOptions::default().serialize_type(SerializeType::THRIFT);
    let mul = client
        .call_with::<_, Reply>("Arith", "Mul", &args, opts())
        .await
        .unwrap();
    assert_eq!(mul.value.c, 200);
    let add = client
        .call_with::<_, Reply>("Arith", "Add", &args, opts())
        .await
        .unwrap();
    assert_eq!(add.value.c, 30);
    let err = client
        .call_with::<Args, Reply>("Arith", "Error", &args, opts())
        .await
        .unwrap_err();
    let ClientError::Remote(e) = err else {
        panic!("expected a service error, got {err}")
    };
    assert_eq!(e.message, "intentional error: A=10 B=20");
    // The `{C: 0}` sent along with the error decodes as Thrift too.
    assert_eq!(e.decode_reply::<Reply>().unwrap().unwrap(), Reply { c: 0 });
}

#[tokio::test]
async fn example_arith_answers_the_go_thrift_frame() {
    let _panics = support::panics::guard();
    let server = arith::server().serve_tcp("127.0.0.1:0").await.unwrap();
    let mut conn = RawConn::connect(server.socket_addr().unwrap()).await;
    conn.send(&vector("C42")).await; // Go: Arith.Mul {A: 7, B: 8} as Thrift
    let res = conn.read_msg().await.unwrap();
    assert_eq!(res.header.status(), MessageStatusType::Normal, "{res:?}");
    assert_eq!(res.header.serialize_type(), SerializeType::THRIFT);
    assert_eq!(hex(&res.payload), "0a0001000000000000003800"); // {1: i64 56}
}
