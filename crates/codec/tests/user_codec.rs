//! User codecs registered for a serialize type number: the table, errors, and why 100 is
//! refused.

use bytes::{BufMut, Bytes, BytesMut};
use fastrpc_codec::{
    BoxError, Codec, CodecError, DecodeSink, Payload, RegisterError, SerializeType, erased_serde,
    register_codec, user_codec,
};
use serde::{Deserialize, Serialize};

/// A tagged JSON: a marker byte then JSON, so the tests can tell it from the built-in JSON.
struct TaggedJson;

impl Codec for TaggedJson {
    fn name(&self) -> &str {
        "tagged-json"
    }

    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        dst: &mut BytesMut,
    ) -> Result<(), BoxError> {
        dst.put_u8(b'#');
        Ok(serde_json::to_writer(dst.writer(), value)?)
    }

    fn decode(&self, src: &[u8], sink: &mut DecodeSink<'_>) -> Result<(), BoxError> {
        let body = src.strip_prefix(b"#").ok_or("missing the # tag")?;
        let mut de = serde_json::Deserializer::from_slice(body);
        sink(&mut <dyn erased_serde::Deserializer<'_>>::erase(&mut de))?;
        Ok(de.end()?)
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: String,
}

// Each test uses its own number: the table is process-wide and set once per number.

#[test]
fn a_registered_codec_serves_every_serde_type() {
    let st = SerializeType::new(12).unwrap();
    assert!(user_codec(st).is_none());
    register_codec(st, TaggedJson).unwrap();
    assert_eq!(user_codec(st).unwrap().name(), "tagged-json");

    let p = Point {
        x: 3,
        y: "a".into(),
    };
    let wire = p.to_bytes(st).unwrap();
    assert_eq!(&wire[..], br##"#{"x":3,"y":"a"}"##);
    assert_eq!(Point::decode(st, wire).unwrap(), p);
    // Another type through the same codec.
    let v: Vec<u8> = Payload::decode(st, Bytes::from_static(b"#[1,2]")).unwrap();
    assert_eq!(v, [1, 2]);
}

#[test]
fn codec_errors_are_typed_and_name_the_codec() {
    let st = SerializeType::new(13).unwrap();
    register_codec(st, TaggedJson).unwrap();
    let err = Point::decode(st, Bytes::from_static(b"{}")).unwrap_err();
    assert!(
        matches!(&err, CodecError::User { serialize_type, name, .. } if *serialize_type == st && name == "tagged-json"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tagged-json (serialize type 13): missing the # tag"
    );
    // The right tag but the wrong shape: serde's error comes through.
    let err = Point::decode(st, Bytes::from_static(b"#{\"x\":\"no\"}")).unwrap_err();
    assert!(matches!(err, CodecError::User { .. }), "{err:?}");
}

#[test]
fn a_number_is_registered_once() {
    let st = SerializeType::new(14).unwrap();
    register_codec(st, TaggedJson).unwrap();
    let err = register_codec(st, TaggedJson).unwrap_err();
    assert!(matches!(err, RegisterError::AlreadyRegistered(s) if s == st));
}

#[test]
fn numbers_without_a_codec_keep_gos_error() {
    let st = SerializeType::new(9).unwrap();
    let err = Point {
        x: 1,
        y: String::new(),
    }
    .to_bytes(st)
    .unwrap_err();
    assert_eq!(err.to_string(), "can not find codec for 9");
}

/// rpcx keeps the serialize type in the high nibble of header byte 3, so 100 cannot be
/// sent: Go's `SetSerializeType` computes `byte(100) << 4` = `0x640` truncated to `0x40`,
/// and the frame goes out labelled 4 (Thrift). fastrpc refuses the number instead of
/// mislabelling frames, so a codec cannot be registered for it.
#[test]
fn serialize_type_100_does_not_fit_the_header_nibble() {
    assert_eq!(SerializeType::new(100), None);
    assert_eq!((100u8 << 4) >> 4, 4, "what Go's header would carry instead");
    assert!(SerializeType::new(15).is_some(), "15 is the largest number");
}
