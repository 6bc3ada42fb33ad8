//! Golden tests for `Thrift<T>`: the bytes of Thrift's binary protocol (what Go's
//! `TSerializer` + `TBinaryProtocol` writes for a bare struct), written out byte by byte.
//!
//! The binary protocol, as the Thrift spec (`doc/specs/thrift-binary-protocol.md`) gives it:
//! a struct is its fields followed by a stop byte `00`; a field is a type byte, a big-endian
//! i16 field id, then the value. Type bytes: bool 2, i8 3, double 4, i16 6, i32 8, i64 10
//! (`0a`), string and binary 11 (`0b`), struct 12 (`0c`), map 13 (`0d`), set 14, list 15
//! (`0f`). Values: bool one byte 0/1; i32/i64 big-endian two's complement; double the
//! big-endian IEEE 754 bits; string/binary an i32 length then the bytes; list an element
//! type byte and an i32 count, then the elements; map a key type byte, a value type byte and
//! an i32 count, then key, value, key, value...; a nested struct its fields and its own stop.
#![cfg(feature = "thrift")]

mod thrift_types;

use bytes::Bytes;
use fastrpc_codec::{CodecError, Payload, SerializeType, Thrift};
use std::collections::BTreeMap;
use thrift_types::{Args, Everything, Inner, Reply};

fn encode<T: Payload>(v: &T) -> Vec<u8> {
    v.to_bytes(SerializeType::THRIFT).expect("encodes").to_vec()
}

fn decode<T: thrift::protocol::TSerializable + Send + 'static>(b: &[u8]) -> Result<T, CodecError> {
    Thrift::<T>::decode(SerializeType::THRIFT, Bytes::copy_from_slice(b)).map(Thrift::into_inner)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The payload of frame C42 in `rpcx-vectors.txt`: a Go rpcx client sending `{A: 7, B: 8}`
/// as serialize type 4, written by Go's `ThriftCodec`.
const GO_C42_PAYLOAD: &str = "0a000100000000000000070a0002000000000000000800";

#[test]
fn arith_args_match_the_go_capture() {
    #[rustfmt::skip]
    let expected = [
        0x0a, 0x00, 0x01,                               // i64 (10), field id 1 (A)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // 7, big-endian
        0x0a, 0x00, 0x02,                               // i64, field id 2 (B)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, // 8
        0x00,                                           // stop: end of struct
    ];
    assert_eq!(
        unhex(GO_C42_PAYLOAD),
        expected,
        "the capture is what the comments say"
    );
    assert_eq!(encode(&Thrift(Args { a: 7, b: 8 })), expected);
    assert_eq!(decode::<Args>(&expected).unwrap(), Args { a: 7, b: 8 });
}

#[test]
fn arith_reply() {
    #[rustfmt::skip]
    let expected = [
        0x0a, 0x00, 0x01,                               // i64, field id 1 (C)
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc8, // -56 in two's complement
        0x00,                                           // stop
    ];
    assert_eq!(encode(&Thrift(Reply { c: -56 })), expected);
    assert_eq!(decode::<Reply>(&expected).unwrap(), Reply { c: -56 });
}

fn everything() -> Everything {
    Everything {
        flag: true,
        count: 42,
        big: 1 << 40,
        ratio: 1.5,
        name: "hi".into(),
        data: vec![0x00, 0xff],
        numbers: vec![1, -1],
        scores: BTreeMap::from([("a".to_owned(), 1)]),
        inner: Inner {
            id: 7,
            name: "x".into(),
        },
        note: None,
        maybe: None,
    }
}

#[rustfmt::skip]
const EVERYTHING: &[u8] = &[
    0x02, 0x00, 0x01, 0x01,             // bool (2), id 1: true is one byte 01
    0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x2a, // i32 (8), id 2: 42 in 4 big-endian bytes
    0x0a, 0x00, 0x03,                   // i64 (10), id 3:
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // 1 << 40: bit 40 is in the 6th byte from the end
    0x04, 0x00, 0x04,                   // double (4), id 4:
    0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 1.5 = sign 0, exponent 0x3ff, fraction .1 binary
    0x0b, 0x00, 0x05,                   // string (11), id 5:
    0x00, 0x00, 0x00, 0x02, b'h', b'i', // i32 length 2, then UTF-8 "hi"
    0x0b, 0x00, 0x06,                   // binary travels as string (11), id 6:
    0x00, 0x00, 0x00, 0x02, 0x00, 0xff, // i32 length 2, then the bytes as they are
    0x0f, 0x00, 0x07,                   // list (15), id 7:
    0x08, 0x00, 0x00, 0x00, 0x02,       // element type i32 (8), count 2
    0x00, 0x00, 0x00, 0x01,             // 1
    0xff, 0xff, 0xff, 0xff,             // -1
    0x0d, 0x00, 0x08,                   // map (13), id 8:
    0x0b, 0x0a, 0x00, 0x00, 0x00, 0x01, // key type string, value type i64, count 1
    0x00, 0x00, 0x00, 0x01, b'a',       // key "a"
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // value 1
    0x0c, 0x00, 0x09,                   // struct (12), id 9: the nested struct's fields follow
    0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, // Inner.id: i32, id 1, 7
    0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, b'x', // Inner.name: string, id 2, "x"
    0x00,                               // stop of Inner
    // fields 10 and 11 are optional and unset: nothing at all is written for them
    0x00,                               // stop of Everything
];

#[test]
fn every_field_type_with_optional_fields_left_out() {
    assert_eq!(encode(&Thrift(everything())), EVERYTHING);
    assert_eq!(decode::<Everything>(EVERYTHING).unwrap(), everything());
}

#[test]
fn optional_fields_set() {
    let value = Everything {
        note: Some("n".into()),
        maybe: Some(5),
        ..everything()
    };
    let mut expected = EVERYTHING[..EVERYTHING.len() - 1].to_vec(); // all but the final stop
    #[rustfmt::skip]
    expected.extend_from_slice(&[
        0x0b, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, b'n', // string, id 10, length 1, "n"
        0x0a, 0x00, 0x0b,                               // i64, id 11:
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // 5
        0x00,                                           // stop
    ]);
    assert_eq!(encode(&Thrift(value.clone())), expected);
    assert_eq!(decode::<Everything>(&expected).unwrap(), value);
}

#[test]
fn empty_containers_still_write_their_headers() {
    let value = Everything {
        numbers: vec![],
        scores: BTreeMap::new(),
        ..everything()
    };
    let bytes = encode(&Thrift(value.clone()));
    // list: type 15, id 7, element type i32, count 0; map: type 13, id 8, key and value
    // types, count 0.
    let list = [0x0f, 0x00, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00];
    let map = [0x0d, 0x00, 0x08, 0x0b, 0x0a, 0x00, 0x00, 0x00, 0x00];
    assert!(bytes.windows(list.len()).any(|w| w == list), "{bytes:02x?}");
    assert!(bytes.windows(map.len()).any(|w| w == map), "{bytes:02x?}");
    assert_eq!(decode::<Everything>(&bytes).unwrap(), value);
}

#[test]
fn unknown_fields_are_skipped_as_go_does() {
    #[rustfmt::skip]
    let bytes = [
        0x0b, 0x00, 0x63, 0x00, 0x00, 0x00, 0x01, b'z', // string field 99, unknown to Reply
        0x0a, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x38,    // C = 56
        0x00,
    ];
    assert_eq!(decode::<Reply>(&bytes).unwrap(), Reply { c: 56 });
}

#[test]
fn bytes_after_the_stop_byte_are_ignored_as_by_go_tdeserializer() {
    let mut bytes = unhex(GO_C42_PAYLOAD);
    bytes.extend_from_slice(b"trailing");
    assert_eq!(decode::<Args>(&bytes).unwrap(), Args { a: 7, b: 8 });
}

#[test]
fn truncated_and_missing_required_fields_are_errors() {
    let full = unhex(GO_C42_PAYLOAD);
    for cut in 0..full.len() {
        let err = decode::<Args>(&full[..cut]).unwrap_err();
        assert!(matches!(err, CodecError::Thrift(_)), "cut at {cut}: {err}");
    }
    // A struct with only field 1: B is required.
    let only_a = [0x0a, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 7, 0x00];
    assert!(matches!(
        decode::<Args>(&only_a),
        Err(CodecError::Thrift(_))
    ));
}

#[test]
fn announced_lengths_beyond_the_payload_are_refused_before_allocating() {
    // string field 5 announcing 2 GiB - 1 bytes, in a 12-byte payload
    let huge_string = [
        0x0b, 0x00, 0x05, 0x7f, 0xff, 0xff, 0xff, b'a', b'b', b'c', b'd', 0,
    ];
    let err = decode::<Everything>(&huge_string).unwrap_err();
    assert!(matches!(err, CodecError::Thrift(_)), "{err}");
    // list field 7 announcing 2^31 - 1 i32 elements
    let huge_list = [
        0x0f, 0x00, 0x07, 0x08, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0,
    ];
    let err = decode::<Everything>(&huge_list).unwrap_err();
    assert!(matches!(err, CodecError::Thrift(_)), "{err}");
    // map field 8 announcing 2^31 - 1 entries
    let huge_map = [0x0d, 0x00, 0x08, 0x0b, 0x0a, 0x7f, 0xff, 0xff, 0xff, 0];
    let err = decode::<Everything>(&huge_map).unwrap_err();
    assert!(matches!(err, CodecError::Thrift(_)), "{err}");
    // a negative length
    let negative = [0x0b, 0x00, 0x05, 0xff, 0xff, 0xff, 0xfe, 0];
    assert!(decode::<Everything>(&negative).is_err());
}

#[test]
fn nesting_is_bounded() {
    // An unknown struct field holding a struct holding a struct ... 1000 deep: skipping it
    // recurses, and the depth limit stops it with an error instead of a stack overflow.
    let mut bytes = Vec::new();
    for _ in 0..1000 {
        bytes.extend_from_slice(&[0x0c, 0x00, 0x63]);
    }
    bytes.extend(std::iter::repeat_n(0u8, 1001));
    assert!(matches!(
        decode::<Reply>(&bytes),
        Err(CodecError::Thrift(_))
    ));
}

#[test]
fn other_serialize_types_are_refused_with_gos_text() {
    let err = Thrift(Reply { c: 1 })
        .to_bytes(SerializeType::JSON)
        .unwrap_err();
    assert_eq!(err.to_string(), "can not find codec for 1");
    let err = Thrift::<Reply>::decode(SerializeType::MSGPACK, Bytes::new()).unwrap_err();
    assert_eq!(err.to_string(), "can not find codec for 3");
    assert_eq!(
        Thrift::<Reply>::preferred_serialize_type(),
        Some(SerializeType::THRIFT)
    );
}
