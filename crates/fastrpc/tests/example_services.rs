//! The example services (`examples/common/arith.rs`) over real sockets, in every serialize
//! type `examples/client.rs` offers, and the `__ServerAddress` a reply carries.

#[path = "../../../examples/common/arith.rs"]
mod arith;

use arith::{Args, Reply};
use fastrpc::protocol::keys;
use fastrpc::{CallOptions, Client, ClientError, Payload, SerializeType};

#[tokio::test]
async fn arith_answers_json_msgpack_and_protobuf() {
    let server = arith::server().serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&format!("tcp@{}", server.local_addr()))
        .await
        .unwrap();
    let args = Args { a: 10, b: 20 };
    for st in [
        SerializeType::JSON,
        SerializeType::MSGPACK,
        SerializeType::PROTOBUF,
    ] {
        let opts = || CallOptions::default().serialize_type(st);
        let mul: fastrpc::client::Reply<Reply> = client
            .call_with("Arith", "Mul", &args, opts())
            .await
            .unwrap_or_else(|e| panic!("Arith.Mul as {st:?}: {e}"));
        assert_eq!(mul.value.c, 200, "{st:?}");
        let add: fastrpc::client::Reply<Reply> = client
            .call_with("Arith", "Add", &args, opts())
            .await
            .unwrap();
        assert_eq!(add.value.c, 30, "{st:?}");
        let err = client
            .call_with::<Args, Reply>("Arith", "Error", &args, opts())
            .await
            .unwrap_err();
        let ClientError::Remote(e) = err else {
            panic!("expected a service error, got {err}")
        };
        assert_eq!(e.message, "intentional error: A=10 B=20");
        assert_eq!(e.serialize_type, st);
        assert_eq!(Reply::decode(st, e.payload).unwrap().c, 0);
    }
    server.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn protobuf_args_use_go_field_numbers() {
    // rpcx's protobuf example: ProtoArgs { A = 1; B = 2 }, ProtoReply { C = 1 }.
    let wire = Args { a: 7, b: 8 }
        .to_bytes(SerializeType::PROTOBUF)
        .unwrap();
    assert_eq!(&wire[..], &[0x08, 7, 0x10, 8]);
    let json = Args { a: 7, b: 8 }.to_bytes(SerializeType::JSON).unwrap();
    assert_eq!(&json[..], br#"{"A":7,"B":8}"#);
    let reply = Reply::decode(
        SerializeType::PROTOBUF,
        bytes::Bytes::from_static(&[0x08, 56]),
    );
    assert_eq!(reply.unwrap().c, 56);
}

#[tokio::test]
async fn server_address_is_host_port_as_go_sets_it() {
    let server = arith::server().serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = server.socket_addr().unwrap();
    let client = Client::connect(&format!("tcp@{addr}")).await.unwrap();
    assert_eq!(client.peer(), format!("tcp@{addr}"));
    assert_eq!(client.remote_addr(), addr.to_string());
    let r: fastrpc::client::Reply<Reply> = client
        .call_with("Arith", "Mul", &Args { a: 2, b: 3 }, CallOptions::default())
        .await
        .unwrap();
    assert_eq!(
        r.metadata.get(keys::SERVER_ADDRESS),
        Some(addr.to_string().as_str())
    );
    server.shutdown(std::time::Duration::from_secs(5)).await;
}
