//! Payload bytes checked against what Go rpcx writes (`rpcx-vectors.txt`, `docs/PROTOCOL.md`).

use bytes::Bytes;
use fastrpc_codec::{CodecError, Payload, Proto, Raw, SerializeType};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Args {
    a: i64,
    b: i64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Reply {
    #[serde(rename = "C")]
    c: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoArgs {
    #[prost(int64, tag = "1")]
    a: i64,
    #[prost(int64, tag = "2")]
    b: i64,
}

fn unhex(s: &str) -> Bytes {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn json_matches_go() {
    let b = Args { a: 7, b: 8 }.to_bytes(SerializeType::JSON).unwrap();
    assert_eq!(&b[..], br#"{"A":7,"B":8}"#);
    let r: Reply =
        Payload::decode(SerializeType::JSON, Bytes::from_static(br#"{"C":56}"#)).unwrap();
    assert_eq!(r, Reply { c: 56 });
}

#[test]
fn msgpack_writes_maps_like_go_and_reads_any_int_width() {
    // A3: the Go client's request {A:7,B:8}, compact ints in a fixstr-keyed map.
    let b = Args { a: 7, b: 8 }
        .to_bytes(SerializeType::MSGPACK)
        .unwrap();
    assert_eq!(b, unhex("82a14107a14208"));
    // A4: Go's reply.
    let r: Reply = Payload::decode(SerializeType::MSGPACK, unhex("81a14338")).unwrap();
    assert_eq!(r, Reply { c: 56 });
    // Fixed int64 (0xd3) as in the protocol doc.
    let a: Args = Payload::decode(
        SerializeType::MSGPACK,
        unhex("82a141d3000000000000000aa142d30000000000000014"),
    )
    .unwrap();
    assert_eq!(a, Args { a: 10, b: 20 });
    let r: Reply =
        Payload::decode(SerializeType::MSGPACK, unhex("81a143d300000000000000c8")).unwrap();
    assert_eq!(r.c, 200);
}

#[test]
fn msgpack_accepts_the_array_form() {
    let a: Args = Payload::decode(SerializeType::MSGPACK, unhex("920708")).unwrap();
    assert_eq!(a, Args { a: 7, b: 8 });
}

#[test]
fn protobuf_matches_go() {
    // A5 and A6.
    let b = Proto(ProtoArgs { a: 7, b: 8 })
        .to_bytes(SerializeType::PROTOBUF)
        .unwrap();
    assert_eq!(b, unhex("08071008"));
    let r: Proto<ProtoArgs> = Payload::decode(SerializeType::PROTOBUF, unhex("0838")).unwrap();
    assert_eq!(r.a, 56);
}

#[test]
fn raw_passes_through() {
    let raw = Raw::from(vec![0x00, 0xff, 0x08, 0x80, 0x01, 0xfe]);
    assert_eq!(
        raw.to_bytes(SerializeType::NONE).unwrap(),
        unhex("00ff088001fe")
    );
    assert_eq!(
        Raw::decode(SerializeType::NONE, unhex("00ff")).unwrap().0,
        unhex("00ff")
    );
    assert_eq!(Raw::preferred_serialize_type(), Some(SerializeType::NONE));
}

#[test]
fn mismatches_are_typed_errors_with_gos_text() {
    let e = Args { a: 1, b: 2 }
        .to_bytes(SerializeType::NONE)
        .unwrap_err();
    assert!(matches!(e, CodecError::Unsupported(SerializeType::NONE)));
    assert_eq!(e.to_string(), "can not find codec for 0");
    assert!(
        Proto(ProtoArgs::default())
            .to_bytes(SerializeType::JSON)
            .is_err()
    );
    assert!(matches!(
        <Args as Payload>::decode(SerializeType::JSON, Bytes::from_static(b"{not json")),
        Err(CodecError::Json(_))
    ));
    assert!(<Args as Payload>::decode(SerializeType::THRIFT, Bytes::new()).is_err());
}
