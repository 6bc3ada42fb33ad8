//! The [`Payload`] trait and the raw and protobuf wrappers.

use crate::CodecError;
use crate::user::{self, user_codec};
#[cfg(any(feature = "json", feature = "msgpack"))]
use bytes::BufMut;
use bytes::{Bytes, BytesMut};
use fastrpc_core::SerializeType;

/// A value that travels as an rpcx payload: an argument or a reply.
///
/// Implemented for every serde type (JSON, MessagePack and any serialize type with a
/// [user codec](crate::register_codec)), for [`Raw`] bytes, for [`Proto<T>`] protobuf
/// messages and for `Thrift<T>` structs. Implement it yourself for another format.
pub trait Payload: Sized + Send + 'static {
    /// The serialize type this payload is best sent as when the caller did not choose one:
    /// `Some(NONE)` for raw bytes, `Some(PROTOBUF)` for protobuf, `None` for serde types (the
    /// client's default applies).
    fn preferred_serialize_type() -> Option<SerializeType> {
        None
    }

    /// Appends the encoding of `self` as `st` to `dst`.
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError>;

    /// Decodes a payload that was serialized as `st`.
    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError>;

    /// Encodes into a fresh buffer.
    fn to_bytes(&self, st: SerializeType) -> Result<Bytes, CodecError> {
        let mut b = BytesMut::new();
        self.encode(st, &mut b)?;
        Ok(b.freeze())
    }
}

impl<T> Payload for T
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if let Some(codec) = user_codec(st) {
            return user::encode_with(codec, st, self, dst);
        }
        match st {
            #[cfg(feature = "json")]
            SerializeType::JSON => Ok(serde_json::to_writer(dst.writer(), self)?),
            #[cfg(feature = "msgpack")]
            SerializeType::MSGPACK => {
                let mut ser = rmp_serde::Serializer::new(dst.writer()).with_struct_map();
                Ok(self.serialize(&mut ser)?)
            }
            other => {
                let _ = dst;
                Err(CodecError::Unsupported(other))
            }
        }
    }

    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        if let Some(codec) = user_codec(st) {
            return user::decode_with(codec, st, &src);
        }
        match st {
            #[cfg(feature = "json")]
            SerializeType::JSON => Ok(serde_json::from_slice(&src)?),
            // rmp-serde reads a struct from a map or an array, so both Go's maps and the
            // compact array form are accepted.
            #[cfg(feature = "msgpack")]
            SerializeType::MSGPACK => Ok(rmp_serde::from_slice(&src)?),
            other => {
                let _ = src;
                Err(CodecError::Unsupported(other))
            }
        }
    }
}

/// Opaque bytes, sent as they are (serialize type none, `[]byte` in Go).
///
/// A `Raw` argument or reply is passed through unchanged whatever the serialize type says,
/// which is what a gateway or a proxy wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Raw(pub Bytes);

impl Raw {
    /// The bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<Bytes> for Raw {
    fn from(b: Bytes) -> Raw {
        Raw(b)
    }
}

impl From<Vec<u8>> for Raw {
    fn from(b: Vec<u8>) -> Raw {
        Raw(Bytes::from(b))
    }
}

impl From<&'static [u8]> for Raw {
    fn from(b: &'static [u8]) -> Raw {
        Raw(Bytes::from_static(b))
    }
}

impl std::ops::Deref for Raw {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl Payload for Raw {
    fn preferred_serialize_type() -> Option<SerializeType> {
        Some(SerializeType::NONE)
    }

    fn encode(&self, _st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&self.0);
        Ok(())
    }

    fn decode(_st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        Ok(Raw(src))
    }

    fn to_bytes(&self, _st: SerializeType) -> Result<Bytes, CodecError> {
        Ok(self.0.clone())
    }
}

/// A protobuf message (serialize type 2), encoded with prost.
///
/// ```
/// # #[cfg(feature = "protobuf")] {
/// use fastrpc_codec::{Payload, Proto, SerializeType};
///
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Args {
///     #[prost(int64, tag = "1")]
///     a: i64,
///     #[prost(int64, tag = "2")]
///     b: i64,
/// }
///
/// let wire = Proto(Args { a: 7, b: 8 }).to_bytes(SerializeType::PROTOBUF).unwrap();
/// assert_eq!(&wire[..], &[0x08, 7, 0x10, 8]); // what Go's protobuf writes
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proto<T>(pub T);

impl<T> std::ops::Deref for Proto<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Proto<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

#[cfg(feature = "protobuf")]
impl<T: prost::Message + Default + Send + 'static> Payload for Proto<T> {
    fn preferred_serialize_type() -> Option<SerializeType> {
        Some(SerializeType::PROTOBUF)
    }

    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if st != SerializeType::PROTOBUF {
            return Err(CodecError::Unsupported(st));
        }
        dst.reserve(self.0.encoded_len());
        Ok(self.0.encode(dst)?)
    }

    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        if st != SerializeType::PROTOBUF {
            return Err(CodecError::Unsupported(st));
        }
        Ok(Proto(T::decode(src)?))
    }
}
