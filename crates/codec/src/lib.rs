//! Payload codecs for fastrpc, selected per call by the rpcx serialize type.
//!
//! rpcx decides how a payload is serialized *per message*: the header's serialize type says
//! JSON (1), Protobuf (2), MessagePack (3), Thrift (4) or raw bytes (0), and a server answers
//! in the type the request used. In fastrpc every argument and reply type implements
//! [`Payload`], which encodes and decodes itself for a given [`SerializeType`]:
//!
//! | type | none (0) | JSON (1) | Protobuf (2) | MsgPack (3) | Thrift (4) | 5..=15 |
//! |---|---|---|---|---|---|---|
//! | any `serde` type (`Serialize + DeserializeOwned`) | – | yes | – | yes, struct as map | – | [user codec](register_codec) |
//! | [`Raw`] (opaque bytes) | yes | passed through | passed through | passed through | passed through | passed through |
//! | [`Proto<T>`] (`T: prost::Message`) | – | – | yes | – | – | – |
//! | [`Thrift<T>`] (`T: thrift::protocol::TSerializable`) | – | – | – | – | yes, binary protocol | – |
//!
//! MessagePack writes structs as maps keyed by field name, as Go's `vmihailenco/msgpack` does,
//! and reads both maps and arrays. Go names fields in PascalCase (`A`, `B`, `C`); use
//! `#[serde(rename = "A")]` or `#[serde(rename_all = "PascalCase")]` to match.
//!
//! A codec registered with [`register_codec`] for a serialize type (rpcx's
//! `share.Codecs[type]`) serves every serde type sent or received with that type, on the
//! client and the server alike; [`register_codec`] says why it is a process-wide table and
//! why numbers stop at 15.
//!
//! `erased-serde` (dtolnay's type-erased serde) is what lets one boxed user codec serve every
//! serde type.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod payload;
#[cfg(feature = "thrift")]
mod thrift_binary;
mod user;

/// Type-erased serde, in which [`Codec`]s see values.
pub use erased_serde;
pub use error::CodecError;
pub use fastrpc_core::SerializeType;
pub use payload::{Payload, Proto, Raw};
#[cfg(feature = "thrift")]
#[cfg_attr(docsrs, doc(cfg(feature = "thrift")))]
pub use thrift_binary::{MAX_DEPTH as THRIFT_MAX_DEPTH, Thrift};
pub use user::{BoxError, Codec, DecodeSink, RegisterError, register_codec, user_codec};

/// The Apache Thrift runtime `Thrift<T>` payloads are written with, for generated code.
#[cfg(feature = "thrift")]
#[cfg_attr(docsrs, doc(cfg(feature = "thrift")))]
pub use ::thrift as thrift_runtime;
