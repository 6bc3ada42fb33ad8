//! tonic 0.14 (gRPC over HTTP/2), written by hand so no `protoc` is needed: the services are
//! `tonic::server::Grpc` around `tower::service_fn`, the client is `tonic::client::Grpc`.
//!
//! The opaque workload is `/bench.Echo/Echo` with a pass-through bytes codec; the protobuf
//! workload is `/pb.Hello/Say` with `tonic_prost::ProstCodec`.

use crate::message::{BenchmarkMessage, reply_to};
use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::NamedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

const ECHO_PATH: &str = "/bench.Echo/Echo";
const SAY_PATH: &str = "/pb.Hello/Say";

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

/// A codec that passes message bytes through untouched.
#[derive(Debug, Clone, Copy, Default)]
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> BytesCodec {
        BytesCodec
    }

    fn decoder(&mut self) -> BytesCodec {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// `bench.Echo`: sends the bytes back.
#[derive(Debug, Clone, Copy, Default)]
struct EchoService;

impl NamedService for EchoService {
    const NAME: &'static str = "bench.Echo";
}

impl tower::Service<http::Request<Body>> for EchoService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            if req.uri().path() != ECHO_PATH {
                return Ok(unimplemented());
            }
            let method = tower::service_fn(|r: Request<Bytes>| async move {
                Ok::<_, Status>(Response::new(r.into_inner()))
            });
            Ok(tonic::server::Grpc::new(BytesCodec)
                .unary(method, req)
                .await)
        })
    }
}

/// `pb.Hello`: `Say` decodes the message, sets `field1` and `field2` and sends it back.
#[derive(Debug, Clone, Copy, Default)]
struct HelloService;

impl NamedService for HelloService {
    const NAME: &'static str = "pb.Hello";
}

impl tower::Service<http::Request<Body>> for HelloService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            if req.uri().path() != SAY_PATH {
                return Ok(unimplemented());
            }
            let method = tower::service_fn(|r: Request<BenchmarkMessage>| async move {
                Ok::<_, Status>(Response::new(reply_to(r.into_inner())))
            });
            let codec = tonic_prost::ProstCodec::<BenchmarkMessage, BenchmarkMessage>::default();
            Ok(tonic::server::Grpc::new(codec).unary(method, req).await)
        })
    }
}

fn unimplemented() -> http::Response<Body> {
    Status::unimplemented("no such method").into_http()
}

/// Binds `addr` and serves both services with tonic's default server settings.
pub async fn serve(addr: &str) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let router = tonic::transport::Server::builder()
        .add_service(EchoService)
        .add_service(HelloService);
    tokio::spawn(async move {
        if let Err(e) = router.serve_with_incoming(incoming).await {
            eprintln!("tonic server: {e}");
        }
    });
    Ok(local)
}

/// One HTTP/2 channel. Cheap to clone; clones share the channel.
#[derive(Clone)]
pub struct Client(tonic::client::Grpc<Channel>);

impl Client {
    /// Connects one channel with tonic's default settings.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .tcp_nodelay(true)
            .connect()
            .await?;
        Ok(Client(tonic::client::Grpc::new(channel)))
    }

    /// Calls `bench.Echo/Echo`.
    pub async fn echo(&mut self, payload: Bytes) -> anyhow::Result<Bytes> {
        self.0.ready().await?;
        let reply = self
            .0
            .unary(
                Request::new(payload),
                PathAndQuery::from_static(ECHO_PATH),
                BytesCodec,
            )
            .await?;
        Ok(reply.into_inner())
    }

    /// Calls `pb.Hello/Say`.
    pub async fn say(&mut self, msg: BenchmarkMessage) -> anyhow::Result<BenchmarkMessage> {
        self.0.ready().await?;
        let codec = tonic_prost::ProstCodec::<BenchmarkMessage, BenchmarkMessage>::default();
        let reply = self
            .0
            .unary(
                Request::new(msg),
                PathAndQuery::from_static(SAY_PATH),
                codec,
            )
            .await?;
        Ok(reply.into_inner())
    }
}
