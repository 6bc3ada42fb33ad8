//! Codec errors.

use fastrpc_core::SerializeType;

/// A payload could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// No codec for this serialize type is compiled in, or the type cannot use it
    /// (a serde struct as raw bytes, a protobuf message as JSON). The text is Go's.
    #[error("can not find codec for {}", .0.value())]
    Unsupported(SerializeType),
    /// JSON failed.
    #[cfg(feature = "json")]
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// MessagePack encoding failed.
    #[cfg(feature = "msgpack")]
    #[error("msgpack encode: {0}")]
    MsgPackEncode(#[from] rmp_serde::encode::Error),
    /// MessagePack decoding failed.
    #[cfg(feature = "msgpack")]
    #[error("msgpack decode: {0}")]
    MsgPackDecode(#[from] rmp_serde::decode::Error),
    /// Protobuf decoding failed.
    #[cfg(feature = "protobuf")]
    #[error("protobuf decode: {0}")]
    ProtobufDecode(#[from] prost::DecodeError),
    /// Protobuf encoding failed.
    #[cfg(feature = "protobuf")]
    #[error("protobuf encode: {0}")]
    ProtobufEncode(#[from] prost::EncodeError),
    /// Thrift's binary protocol failed (a malformed struct, a length beyond the payload,
    /// nesting beyond the limit).
    #[cfg(feature = "thrift")]
    #[error("thrift: {0}")]
    Thrift(#[from] thrift::Error),
    /// A user codec (see [`register_codec`](crate::register_codec)) failed.
    #[error("{name} (serialize type {}): {source}", .serialize_type.value())]
    User {
        /// The serialize type the codec is registered for.
        serialize_type: SerializeType,
        /// The codec's name.
        name: String,
        /// What the codec reported.
        source: crate::BoxError,
    },
}
