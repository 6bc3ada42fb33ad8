//! rpcx's classic example services, shared by the examples: `Arith` (`Mul`, `Add`, `Error`)
//! on `{A, B}` giving `{C}`, and `Echo.Echo` (raw bytes back unchanged). Field names are Go's,
//! so Go rpcx clients and servers interoperate with these.
//!
//! With the `thrift` feature, `Arith` also answers serialize type 4, as the Thrift structs
//! `struct Args { 1: i64 A, 2: i64 B }` and `struct Reply { 1: i64 C }` (binary protocol),
//! the same field numbers as the protobuf variant.

use bytes::{Bytes, BytesMut};
use fastrpc::codec::CodecError;
use fastrpc::{Context, Payload, Proto, Raw, SerializeType, ServiceError};
use serde::{Deserialize, Serialize};

/// The arguments, `{A, B}`: as Go writes them in JSON and MessagePack, and as rpcx's protobuf
/// example's `ProtoArgs` (fields 1 and 2) in protobuf.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct Args {
    /// First operand.
    #[prost(int64, tag = "1")]
    pub(crate) a: i64,
    /// Second operand.
    #[prost(int64, tag = "2")]
    pub(crate) b: i64,
}

/// The reply, `{C}` (`ProtoReply`, field 1, in protobuf).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct Reply {
    /// The result.
    #[prost(int64, tag = "1")]
    pub(crate) c: i64,
}

/// `Args` with Go's field names, for the serde codecs.
#[derive(Serialize, Deserialize)]
struct GoArgs {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
}

/// `Reply` with Go's field name, for the serde codecs.
#[derive(Serialize, Deserialize)]
struct GoReply {
    #[serde(rename = "C")]
    c: i64,
}

// Protobuf goes through prost, Thrift through the `TSerializable` impls below, every other
// serialize type through the serde twin, so one service answers JSON, MessagePack, protobuf
// and Thrift callers alike.
impl Payload for Args {
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if st == SerializeType::PROTOBUF {
            Proto(*self).encode(st, dst)
        } else if st == SerializeType::THRIFT {
            thrift_struct::encode(self, st, dst)
        } else {
            GoArgs {
                a: self.a,
                b: self.b,
            }
            .encode(st, dst)
        }
    }

    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        if st == SerializeType::PROTOBUF {
            Proto::<Args>::decode(st, src).map(|p| p.0)
        } else if st == SerializeType::THRIFT {
            thrift_struct::decode(st, src)
        } else {
            GoArgs::decode(st, src).map(|g| Args { a: g.a, b: g.b })
        }
    }
}

impl Payload for Reply {
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if st == SerializeType::PROTOBUF {
            Proto(*self).encode(st, dst)
        } else if st == SerializeType::THRIFT {
            thrift_struct::encode(self, st, dst)
        } else {
            GoReply { c: self.c }.encode(st, dst)
        }
    }

    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        if st == SerializeType::PROTOBUF {
            Proto::<Reply>::decode(st, src).map(|p| p.0)
        } else if st == SerializeType::THRIFT {
            thrift_struct::decode(st, src)
        } else {
            GoReply::decode(st, src).map(|g| Reply { c: g.c })
        }
    }
}

/// `Args` and `Reply` as Thrift structs: what `thrift --gen rs` writes for them, by hand.
#[cfg(feature = "thrift")]
mod thrift_struct {
    use super::{Args, Reply};
    use bytes::{Bytes, BytesMut};
    use fastrpc::codec::thrift_runtime::Result;
    use fastrpc::codec::thrift_runtime::protocol::{
        TFieldIdentifier, TInputProtocol, TOutputProtocol, TSerializable, TStructIdentifier, TType,
        field_id,
    };
    use fastrpc::codec::{CodecError, Thrift};
    use fastrpc::{Payload, SerializeType};

    pub(super) fn encode<T: TSerializable + Clone + Send + 'static>(
        v: &T,
        st: SerializeType,
        dst: &mut BytesMut,
    ) -> std::result::Result<(), CodecError> {
        Thrift(v.clone()).encode(st, dst)
    }

    pub(super) fn decode<T: TSerializable + Send + 'static>(
        st: SerializeType,
        src: Bytes,
    ) -> std::result::Result<T, CodecError> {
        Thrift::<T>::decode(st, src).map(Thrift::into_inner)
    }

    /// Reads the i64 fields of a struct into `slots` by field id (1-based); skips the rest.
    fn read_i64s(i: &mut dyn TInputProtocol, slots: &mut [i64]) -> Result<()> {
        i.read_struct_begin()?;
        loop {
            let f = i.read_field_begin()?;
            if f.field_type == TType::Stop {
                break;
            }
            let id = usize::try_from(field_id(&f)?).unwrap_or(0);
            match slots.get_mut(id.wrapping_sub(1)) {
                Some(slot) if f.field_type == TType::I64 => *slot = i.read_i64()?,
                _ => i.skip(f.field_type)?,
            }
            i.read_field_end()?;
        }
        i.read_struct_end()
    }

    /// Writes `fields` (name, value) as i64 fields 1, 2, ...
    fn write_i64s(o: &mut dyn TOutputProtocol, name: &str, fields: &[(&str, i64)]) -> Result<()> {
        o.write_struct_begin(&TStructIdentifier::new(name))?;
        for (id, (field, value)) in (1i16..).zip(fields) {
            o.write_field_begin(&TFieldIdentifier::new(*field, TType::I64, id))?;
            o.write_i64(*value)?;
            o.write_field_end()?;
        }
        o.write_field_stop()?;
        o.write_struct_end()
    }

    impl TSerializable for Args {
        fn read_from_in_protocol(i: &mut dyn TInputProtocol) -> Result<Args> {
            let mut ab = [0; 2];
            read_i64s(i, &mut ab)?;
            Ok(Args { a: ab[0], b: ab[1] })
        }

        fn write_to_out_protocol(&self, o: &mut dyn TOutputProtocol) -> Result<()> {
            write_i64s(o, "Args", &[("A", self.a), ("B", self.b)])
        }
    }

    impl TSerializable for Reply {
        fn read_from_in_protocol(i: &mut dyn TInputProtocol) -> Result<Reply> {
            let mut c = [0; 1];
            read_i64s(i, &mut c)?;
            Ok(Reply { c: c[0] })
        }

        fn write_to_out_protocol(&self, o: &mut dyn TOutputProtocol) -> Result<()> {
            write_i64s(o, "Reply", &[("C", self.c)])
        }
    }
}

/// Without the `thrift` feature, serialize type 4 is refused as Go refuses a codec it lacks.
#[cfg(not(feature = "thrift"))]
mod thrift_struct {
    use bytes::{Bytes, BytesMut};
    use fastrpc::SerializeType;
    use fastrpc::codec::CodecError;

    pub(super) fn encode<T>(_: &T, st: SerializeType, _: &mut BytesMut) -> Result<(), CodecError> {
        Err(CodecError::Unsupported(st))
    }

    pub(super) fn decode<T>(st: SerializeType, _: Bytes) -> Result<T, CodecError> {
        Err(CodecError::Unsupported(st))
    }
}

/// The `Arith` service.
pub(crate) struct Arith;

#[fastrpc::service]
impl Arith {
    /// `Arith.Mul`: `C = A * B`.
    async fn mul(&self, args: Args) -> Reply {
        Reply {
            c: args.a.wrapping_mul(args.b),
        }
    }

    /// `Arith.Add`: `C = A + B`.
    async fn add(&self, args: Args) -> Reply {
        Reply {
            c: args.a.wrapping_add(args.b),
        }
    }

    /// `Arith.Error`: always fails, and sends `{C: 0}` along, as the Go test service does.
    async fn error(&self, _ctx: &Context, args: Args) -> Result<Reply, ServiceError> {
        Err(ServiceError::with_reply(
            format!("intentional error: A={} B={}", args.a, args.b),
            Reply { c: 0 },
        ))
    }
}

/// The `Echo` service.
pub(crate) struct Echo;

#[fastrpc::service]
impl Echo {
    /// `Echo.Echo`: the raw bytes back unchanged.
    async fn echo(&self, payload: Raw) -> Raw {
        payload
    }
}

/// A server offering `Arith` and `Echo` (and `Reflection`).
#[allow(dead_code)]
pub(crate) fn server() -> fastrpc::Server {
    // With the reflection service, so `fastrpc describe` shows what it offers.
    builder().reflection().build()
}

/// A server builder with `Arith` and `Echo`, for examples that add plugins or options.
#[allow(dead_code)] // not every example that includes this file uses it
pub(crate) fn builder() -> fastrpc::server::ServerBuilder {
    fastrpc::Server::builder().service(Arith).service(Echo)
}
