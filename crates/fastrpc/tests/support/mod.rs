//! Test support: the Go test service of `rpcx-vectors.txt`, and a raw socket speaking frames.

#![allow(dead_code, unreachable_pub)]

pub mod panics;

use bytes::{Bytes, BytesMut};
use fastrpc::codec::CodecError;
use fastrpc::protocol::{FrameDecoder, Message};
use fastrpc::{Context, Payload, Raw, SerializeType, ServiceError};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `{A, B}` in every codec the Go test service answers: JSON, MsgPack (serde) and protobuf
/// (field 1 = A, field 2 = B). A hand-written `Payload`, which is how a type serves several
/// families of codecs at once.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GoArgs {
    pub a: i64,
    pub b: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GoReply {
    pub c: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbArgs {
    #[prost(int64, tag = "1")]
    a: i64,
    #[prost(int64, tag = "2")]
    b: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbReply {
    #[prost(int64, tag = "1")]
    c: i64,
}

#[derive(Serialize, Deserialize)]
struct SerdeArgs {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
}

impl Payload for GoArgs {
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if st == SerializeType::PROTOBUF {
            return fastrpc::Proto(PbArgs {
                a: self.a,
                b: self.b,
            })
            .encode(st, dst);
        }
        SerdeArgs {
            a: self.a,
            b: self.b,
        }
        .encode(st, dst)
    }
    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        if st == SerializeType::PROTOBUF {
            let p = <fastrpc::Proto<PbArgs> as Payload>::decode(st, src)?;
            return Ok(GoArgs { a: p.a, b: p.b });
        }
        let s = <SerdeArgs as Payload>::decode(st, src)?;
        Ok(GoArgs { a: s.a, b: s.b })
    }
}

#[derive(Serialize, Deserialize)]
struct SerdeReply {
    #[serde(rename = "C")]
    c: i64,
}

impl Payload for GoReply {
    fn encode(&self, st: SerializeType, dst: &mut BytesMut) -> Result<(), CodecError> {
        if st == SerializeType::PROTOBUF {
            return fastrpc::Proto(PbReply { c: self.c }).encode(st, dst);
        }
        SerdeReply { c: self.c }.encode(st, dst)
    }
    fn decode(st: SerializeType, src: Bytes) -> Result<Self, CodecError> {
        if st == SerializeType::PROTOBUF {
            let p = <fastrpc::Proto<PbReply> as Payload>::decode(st, src)?;
            return Ok(GoReply { c: p.c });
        }
        Ok(GoReply {
            c: <SerdeReply as Payload>::decode(st, src)?.c,
        })
    }
}

/// Like the Go test service: copies request metadata into the reply and adds `server=go-rpcx`.
fn go_meta(ctx: &Context) {
    for (k, v) in ctx.metadata().iter() {
        ctx.set_response_metadata(k, v);
    }
    ctx.set_response_metadata("server", "go-rpcx");
}

/// The Go test service of the captured vectors: Arith (Mul, Add, Error, Notify) and Echo.
pub struct GoArith {
    pub notified: tokio::sync::mpsc::UnboundedSender<GoArgs>,
}

#[fastrpc::service(name = "Arith")]
impl GoArith {
    async fn mul(&self, ctx: &Context, args: GoArgs) -> GoReply {
        go_meta(ctx);
        GoReply { c: args.a * args.b }
    }
    async fn add(&self, ctx: &Context, args: GoArgs) -> GoReply {
        go_meta(ctx);
        GoReply { c: args.a + args.b }
    }
    async fn error(&self, ctx: &Context, args: GoArgs) -> Result<GoReply, ServiceError> {
        go_meta(ctx);
        Err(ServiceError::with_reply(
            format!("intentional error: A={} B={}", args.a, args.b),
            GoReply { c: 0 },
        ))
    }
    async fn notify(&self, args: GoArgs) -> GoReply {
        let _ = self.notified.send(args);
        GoReply::default()
    }
}

pub struct GoEcho;

#[fastrpc::service(name = "Echo")]
impl GoEcho {
    async fn echo(&self, ctx: &Context, payload: Raw) -> Raw {
        go_meta(ctx);
        payload
    }
}

/// A raw TCP connection that writes bytes and reads whole frames.
pub struct RawConn {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl RawConn {
    pub async fn connect(addr: std::net::SocketAddr) -> RawConn {
        RawConn::from_stream(TcpStream::connect(addr).await.unwrap())
    }

    pub fn from_stream(stream: TcpStream) -> RawConn {
        RawConn {
            stream,
            buf: BytesMut::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    pub async fn send_msg(&mut self, m: &Message) {
        let b = m.to_bytes().unwrap();
        self.send(&b).await;
    }

    /// The next frame as raw bytes (re-encoded would lose compressed bytes, so keep the wire).
    pub async fn read_frame_bytes(&mut self) -> Option<Bytes> {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if self.buf.len() >= 16 {
                    let total = u32::from_be_bytes(self.buf[12..16].try_into().unwrap()) as usize;
                    if self.buf.len() >= 16 + total {
                        return Some(self.buf.split_to(16 + total).freeze());
                    }
                }
                let n = self.stream.read_buf(&mut self.buf).await.ok()?;
                if n == 0 {
                    return None;
                }
            }
        })
        .await
        .expect("no frame within 5 s")
    }

    pub async fn read_msg(&mut self) -> Option<Message> {
        Some(decode(&self.read_frame_bytes().await?))
    }

    /// True when the server closed the connection (EOF within 5 s, nothing else read).
    pub async fn closed_by_server(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// Decodes one whole frame.
pub fn decode(frame: &[u8]) -> Message {
    FrameDecoder::default()
        .decode(&mut BytesMut::from(frame))
        .unwrap()
        .expect("a whole frame")
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex of a captured frame in `rpcx-vectors.txt` section A, by name (`A1`).
pub fn vector(name: &str) -> Vec<u8> {
    const VECTORS: &str = include_str!("../../../core/tests/data/rpcx-vectors.txt");
    let tag = format!("[{name} ");
    let mut lines = VECTORS.lines();
    while let Some(l) = lines.next() {
        if l.starts_with(&tag) {
            return unhex(lines.next().unwrap().trim().strip_prefix("hex: ").unwrap());
        }
    }
    panic!("no vector {name}");
}

/// Starts a server with the Go test services on an ephemeral port.
pub async fn go_test_server() -> (
    fastrpc::server::ServerHandle,
    tokio::sync::mpsc::UnboundedReceiver<GoArgs>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let server = fastrpc::Server::builder()
        .service(GoArith { notified: tx })
        .service(GoEcho)
        .build();
    (server.serve_tcp("127.0.0.1:0").await.unwrap(), rx)
}
