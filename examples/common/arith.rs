//! rpcx's classic example services, shared by the examples: `Arith` (`Mul`, `Add`, `Error`)
//! on `{A, B}` giving `{C}`, and `Echo.Echo` (raw bytes back unchanged). Field names are Go's,
//! so Go rpcx clients and servers interoperate with these.

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

// Protobuf goes through prost, every other serialize type through the serde twin, so one
// service answers JSON, MessagePack and protobuf callers alike.
impl Payload for Args {
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if st == SerializeType::PROTOBUF {
            Proto(*self).encode(st, dst)
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
        } else {
            GoArgs::decode(st, src).map(|g| Args { a: g.a, b: g.b })
        }
    }
}

impl Payload for Reply {
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if st == SerializeType::PROTOBUF {
            Proto(*self).encode(st, dst)
        } else {
            GoReply { c: self.c }.encode(st, dst)
        }
    }

    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        if st == SerializeType::PROTOBUF {
            Proto::<Reply>::decode(st, src).map(|p| p.0)
        } else {
            GoReply::decode(st, src).map(|g| Reply { c: g.c })
        }
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

/// A server offering `Arith` and `Echo`.
#[allow(dead_code)]
pub(crate) fn server() -> fastrpc::Server {
    builder().build()
}

/// A server builder with `Arith` and `Echo`, for examples that add plugins or options.
#[allow(dead_code)] // not every example that includes this file uses it
pub(crate) fn builder() -> fastrpc::server::ServerBuilder {
    fastrpc::Server::builder().service(Arith).service(Echo)
}
