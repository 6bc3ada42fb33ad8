//! Payload codecs for fastrpc, selected per call by the rpcx serialize type.
//!
//! rpcx decides how a payload is serialized *per message*: the header's serialize type says
//! JSON (1), Protobuf (2), MessagePack (3) or raw bytes (0), and a server answers in the type
//! the request used. In fastrpc every argument and reply type implements [`Payload`], which
//! encodes and decodes itself for a given [`SerializeType`]:
//!
//! | type | none (0) | JSON (1) | Protobuf (2) | MsgPack (3) |
//! |---|---|---|---|---|
//! | any `serde` type (`Serialize + DeserializeOwned`) | – | yes | – | yes, struct as map |
//! | [`Raw`] (opaque bytes) | yes | passed through | passed through | passed through |
//! | [`Proto<T>`] (`T: prost::Message`) | – | – | yes | – |
//!
//! MessagePack writes structs as maps keyed by field name, as Go's `vmihailenco/msgpack` does,
//! and reads both maps and arrays. Go names fields in PascalCase (`A`, `B`, `C`); use
//! `#[serde(rename = "A")]` or `#[serde(rename_all = "PascalCase")]` to match.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod payload;

pub use error::CodecError;
pub use fastrpc_core::SerializeType;
pub use payload::{Payload, Proto, Raw};
