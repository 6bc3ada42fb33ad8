//! User codecs: a codec plugged in for a serialize type number, as rpcx's
//! `share.Codecs[type] = codec`.
//!
//! The reasoning is on [`register_codec`], where rustdoc shows it.

use crate::CodecError;
use bytes::BytesMut;
use fastrpc_core::SerializeType;
use std::sync::OnceLock;

/// The error type user codecs return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a [`Codec::decode`] hands its format's deserializer to: it deserializes the target
/// type (chosen by the caller) from it.
pub type DecodeSink<'s> = dyn for<'de> FnMut(&mut dyn erased_serde::Deserializer<'de>) -> Result<(), erased_serde::Error>
    + 's;

/// A payload codec for serde types, registered for a serialize type with [`register_codec`].
///
/// ```
/// use bytes::{BufMut, BytesMut};
/// use fastrpc_codec::{BoxError, Codec, DecodeSink};
///
/// /// JSON again, standing in for CBOR, bincode or anything else serde speaks.
/// struct MyJson;
///
/// impl Codec for MyJson {
///     fn name(&self) -> &str {
///         "my-json"
///     }
///     fn encode(&self, value: &dyn erased_serde::Serialize, dst: &mut BytesMut) -> Result<(), BoxError> {
///         Ok(serde_json::to_writer(dst.writer(), value)?)
///     }
///     fn decode(&self, src: &[u8], sink: &mut DecodeSink<'_>) -> Result<(), BoxError> {
///         let mut de = serde_json::Deserializer::from_slice(src);
///         sink(&mut <dyn erased_serde::Deserializer<'_>>::erase(&mut de))?;
///         Ok(de.end()?)
///     }
/// }
/// ```
pub trait Codec: Send + Sync + 'static {
    /// A short name for error texts (`cbor`).
    fn name(&self) -> &str;

    /// Appends the encoding of `value` to `dst`.
    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        dst: &mut BytesMut,
    ) -> Result<(), BoxError>;

    /// Builds this format's deserializer over `src` and passes it, erased, to `sink`, which
    /// deserializes the value the caller wants. Return the sink's error as it is.
    fn decode(&self, src: &[u8], sink: &mut DecodeSink<'_>) -> Result<(), BoxError>;
}

/// A codec could not be registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// This number already has a user codec; a number is set once per process.
    #[error("a codec is already registered for serialize type {}", .0.value())]
    AlreadyRegistered(SerializeType),
}

const SLOTS: usize = 16;

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise the array
const EMPTY: OnceLock<Box<dyn Codec>> = OnceLock::new();
static CODECS: [OnceLock<Box<dyn Codec>>; SLOTS] = [EMPTY; SLOTS];

/// Registers `codec` for serialize type `st`, for this process's clients and servers.
///
/// Serde arguments and replies sent or received with that serialize type then use it.
/// Register before the first call that needs it; a number can be registered once.
///
/// # Why a process-wide table of serde codecs
///
/// The server decodes an argument and encodes a reply through [`Payload`](crate::Payload), and
/// so does the client; neither knows about codecs. A codec registered here is looked up by the
/// serde blanket impl of `Payload` from the serialize type in the header, so **every serde
/// type** can travel as a user codec with no wrapper, no server change and no client change:
/// register once at start-up, then call with `CallOptions::serialize_type(..)` (or set it as
/// the client's default) and the server answers in kind. That mirrors Go, where
/// `share.Codecs` is one process-wide map consulted by client and server alike.
///
/// A codec sees values through [`erased_serde`], the type-erased face of serde, which is what
/// lets one `dyn Codec` in a table serve every argument and reply type (Go's codecs take
/// `interface{}` for the same reason). A hand-written `Payload` impl that serves several
/// families of codecs (a prost or Thrift struct with a serde twin) reaches the table by
/// encoding its twin; [`user_codec`] tells whether a number has a codec.
///
/// The table holds one codec per number and a number is set once (a [`OnceLock`] per slot,
/// so a lookup on the call path is one atomic load, without a lock). For serde types a
/// registered codec takes precedence over the built-in JSON or MessagePack codec of that
/// number, as replacing `share.Codecs[1]` does in Go; [`Raw`](crate::Raw), `Proto<T>` and
/// `Thrift<T>` keep their own encodings.
///
/// # Numbers are 0..=15
///
/// The rpcx header keeps the serialize type in the high 4 bits of one byte, so only 0..=15
/// can be sent. Go's `SetSerializeType` shifts the byte left by four and drops the rest:
/// a Go client set to type 100 (0x64) sends 4 (Thrift) on the wire. fastrpc refuses such a
/// number up front ([`SerializeType::new`] returns `None`) instead of mislabelling frames;
/// 5..=15 are free for user codecs.
pub fn register_codec(st: SerializeType, codec: impl Codec) -> Result<(), RegisterError> {
    CODECS[usize::from(st.value())]
        .set(Box::new(codec))
        .map_err(|_| RegisterError::AlreadyRegistered(st))
}

/// The user codec registered for `st`, if any.
pub fn user_codec(st: SerializeType) -> Option<&'static dyn Codec> {
    CODECS
        .get(usize::from(st.value()))
        .and_then(OnceLock::get)
        .map(|c| &**c)
}

/// Encodes `value` with the codec registered for `st`.
pub(crate) fn encode_with<T: serde::Serialize>(
    codec: &dyn Codec,
    st: SerializeType,
    value: &T,
    dst: &mut BytesMut,
) -> Result<(), CodecError> {
    codec
        .encode(value, dst)
        .map_err(|source| user_error(codec, st, source))
}

/// Decodes a `T` with the codec registered for `st`.
pub(crate) fn decode_with<T: serde::de::DeserializeOwned>(
    codec: &dyn Codec,
    st: SerializeType,
    src: &[u8],
) -> Result<T, CodecError> {
    let mut out = None;
    let mut sink = |de: &mut dyn erased_serde::Deserializer<'_>| {
        out = Some(erased_serde::deserialize::<T>(de)?);
        Ok(())
    };
    codec
        .decode(src, &mut sink)
        .map_err(|source| user_error(codec, st, source))?;
    out.ok_or_else(|| user_error(codec, st, "the codec did not deserialize a value".into()))
}

fn user_error(codec: &dyn Codec, st: SerializeType, source: BoxError) -> CodecError {
    CodecError::User {
        serialize_type: st,
        name: codec.name().to_owned(),
        source,
    }
}
