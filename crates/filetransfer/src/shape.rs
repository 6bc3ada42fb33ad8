//! How the argument and reply types look on the wire, per serialize type.
//!
//! Go's JSON codec uses the `json` tags of `share`'s structs (`file_name`, `file_size`, `meta`,
//! `token`, `addr`, all `omitempty`, `[]byte` as base64), while its MessagePack codec
//! (vmihailenco v5, `UseJSONTag` left off) keys maps by the Go field names (`FileName`,
//! `FileSize`, `Meta`, `Token`, `Addr`) and writes every field, `[]byte` as `bin`. So each type
//! has two private serde shapes, and its [`Payload`] picks one by serialize type: the tagged
//! shape for JSON, the field-name shape for MessagePack and any user codec.

use crate::args::{DownloadFileArgs, FileTransferArgs, FileTransferReply, StreamServiceArgs};
use bytes::{Bytes, BytesMut};
use fastrpc_codec::{CodecError, Payload, SerializeType};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashMap;

/// Reads `null` (Go's nil map, nil slice) as the default value.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `[]byte` in Go's JSON: standard base64 with padding.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Vec::new()),
            Some(s) => STANDARD.decode(s).map_err(D::Error::custom),
        }
    }
}

/// `[]byte` in Go's MessagePack: `bin` out; `bin`, `str`, an array of bytes or nil in.
mod bin_bytes {
    use serde::Serializer;
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use std::fmt;

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("bytes")
        }
        fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_str<E>(self, v: &str) -> Result<Vec<u8>, E> {
            Ok(v.as_bytes().to_vec())
        }
        fn visit_unit<E>(self) -> Result<Vec<u8>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E>(self) -> Result<Vec<u8>, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
            d.deserialize_any(BytesVisitor)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            // Bounded by the frame the codec already holds: one byte per element at most.
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_any(BytesVisitor)
    }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Encodes and decodes a public type through its JSON shape for JSON and its Go-field-name
/// shape for every other serialize type.
macro_rules! go_payload {
    ($ty:ty, $json:ty, $go:ty) => {
        impl Payload for $ty {
            fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
                if st == SerializeType::JSON {
                    <$json>::from(self.clone()).encode(st, dst)
                } else {
                    <$go>::from(self.clone()).encode(st, dst)
                }
            }

            fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
                if st == SerializeType::JSON {
                    <$json as Payload>::decode(st, src).map(Into::into)
                } else {
                    <$go as Payload>::decode(st, src).map(Into::into)
                }
            }
        }
    };
}

#[derive(Serialize, Deserialize)]
struct TransferArgsJson {
    #[serde(rename = "file_name", default, deserialize_with = "nullable")]
    #[serde(skip_serializing_if = "String::is_empty")]
    file_name: String,
    #[serde(rename = "file_size", default, deserialize_with = "nullable")]
    #[serde(skip_serializing_if = "is_zero")]
    file_size: i64,
    #[serde(rename = "meta", default, deserialize_with = "nullable")]
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    meta: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct TransferArgsGo {
    #[serde(rename = "FileName", default, deserialize_with = "nullable")]
    file_name: String,
    #[serde(rename = "FileSize", default, deserialize_with = "nullable")]
    file_size: i64,
    #[serde(rename = "Meta", default, deserialize_with = "nullable")]
    meta: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct DownloadArgsJson {
    #[serde(rename = "file_name", default, deserialize_with = "nullable")]
    #[serde(skip_serializing_if = "String::is_empty")]
    file_name: String,
    #[serde(rename = "meta", default, deserialize_with = "nullable")]
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    meta: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct DownloadArgsGo {
    #[serde(rename = "FileName", default, deserialize_with = "nullable")]
    file_name: String,
    #[serde(rename = "Meta", default, deserialize_with = "nullable")]
    meta: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct StreamArgsJson {
    #[serde(rename = "meta", default, deserialize_with = "nullable")]
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    meta: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct StreamArgsGo {
    #[serde(rename = "Meta", default, deserialize_with = "nullable")]
    meta: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct ReplyJson {
    #[serde(rename = "token", default, with = "base64_bytes")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    token: Vec<u8>,
    #[serde(rename = "addr", default, deserialize_with = "nullable")]
    #[serde(skip_serializing_if = "String::is_empty")]
    addr: String,
}

#[derive(Serialize, Deserialize)]
struct ReplyGo {
    #[serde(rename = "Token", default, with = "bin_bytes")]
    token: Vec<u8>,
    #[serde(rename = "Addr", default, deserialize_with = "nullable")]
    addr: String,
}

/// Moves the fields of one struct into another with the same field names.
macro_rules! convert {
    ($from:ident => $to:ident { $($f:ident),* }) => {
        impl From<$from> for $to {
            fn from(v: $from) -> $to {
                $to { $($f: v.$f),* }
            }
        }
    };
}

convert!(FileTransferArgs => TransferArgsJson { file_name, file_size, meta });
convert!(TransferArgsJson => FileTransferArgs { file_name, file_size, meta });
convert!(FileTransferArgs => TransferArgsGo { file_name, file_size, meta });
convert!(TransferArgsGo => FileTransferArgs { file_name, file_size, meta });
convert!(DownloadFileArgs => DownloadArgsJson { file_name, meta });
convert!(DownloadArgsJson => DownloadFileArgs { file_name, meta });
convert!(DownloadFileArgs => DownloadArgsGo { file_name, meta });
convert!(DownloadArgsGo => DownloadFileArgs { file_name, meta });
convert!(StreamServiceArgs => StreamArgsJson { meta });
convert!(StreamArgsJson => StreamServiceArgs { meta });
convert!(StreamServiceArgs => StreamArgsGo { meta });
convert!(StreamArgsGo => StreamServiceArgs { meta });
convert!(FileTransferReply => ReplyJson { token, addr });
convert!(ReplyJson => FileTransferReply { token, addr });
convert!(FileTransferReply => ReplyGo { token, addr });
convert!(ReplyGo => FileTransferReply { token, addr });

go_payload!(FileTransferArgs, TransferArgsJson, TransferArgsGo);
go_payload!(DownloadFileArgs, DownloadArgsJson, DownloadArgsGo);
go_payload!(StreamServiceArgs, StreamArgsJson, StreamArgsGo);
go_payload!(FileTransferReply, ReplyJson, ReplyGo);

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Payload>(v: &T) -> String {
        String::from_utf8(v.to_bytes(SerializeType::JSON).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn empty_fields_are_omitted_in_json_as_go_omitempty_does() {
        assert_eq!(json(&FileTransferArgs::default()), "{}");
        assert_eq!(json(&FileTransferReply::default()), "{}");
        assert_eq!(json(&StreamServiceArgs::default()), "{}");
    }

    #[test]
    fn nulls_from_go_read_as_empty() {
        let v = FileTransferArgs::decode(
            SerializeType::JSON,
            Bytes::from_static(br#"{"file_name":null,"meta":null}"#),
        )
        .unwrap();
        assert_eq!(v, FileTransferArgs::default());
        let r = FileTransferReply::decode(
            SerializeType::JSON,
            Bytes::from_static(br#"{"token":null}"#),
        )
        .unwrap();
        assert!(r.token.is_empty());
    }

    #[test]
    fn msgpack_round_trips_with_go_field_names() {
        let r = FileTransferReply {
            token: vec![7; 32],
            addr: "127.0.0.1:1".into(),
        };
        let b = r.to_bytes(SerializeType::MSGPACK).unwrap();
        // fixmap of 2, "Token", bin8 of 32 bytes.
        assert_eq!(&b[..9], b"\x82\xa5Token\xc4\x20");
        assert_eq!(
            FileTransferReply::decode(SerializeType::MSGPACK, b).unwrap(),
            r
        );
    }
}
