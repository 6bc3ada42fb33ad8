//! Malformed replies to a client: the pending call fails with a typed error, the client does
//! not panic or hang, and a bad frame that can be delimited costs only the call it answers.
//! The client runs over an in-memory pipe (`Client::from_io` on `tokio::io::duplex`); the test
//! plays the server with raw bytes.

mod support;

#[path = "../../core/tests/frame_gen/mod.rs"]
mod frame_gen;

use bytes::{BufMut, Bytes, BytesMut};
use fastrpc::protocol::{CompressType, FrameDecoder, Limits, Message, ProtocolError};
use fastrpc::{CallOptions, Client, ClientError, ClientOptions, Raw};
use proptest::test_runner::{Config, TestRunner};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// A generous bound for anything that must not hang (the machine may be loaded).
const PATIENCE: Duration = Duration::from_secs(10);

/// The server side of the pipe, driven by the test.
struct FakeServer {
    io: DuplexStream,
    buf: BytesMut,
}

impl FakeServer {
    /// The next request the client wrote.
    async fn request(&mut self) -> Message {
        let mut d = FrameDecoder::default();
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(m) = d.decode(&mut self.buf).unwrap() {
                    return m;
                }
                let n = self.io.read_buf(&mut self.buf).await.unwrap();
                assert!(n > 0, "the client closed before sending a request");
            }
        })
        .await
        .expect("the client sent a request")
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// The normal reply to `req` echoing `payload`.
    fn reply(req: &Message, payload: &'static [u8]) -> Bytes {
        let mut r = Message::reply_to(req);
        r.payload = Bytes::from_static(payload);
        r.to_bytes().unwrap()
    }
}

fn limits() -> Limits {
    Limits {
        max_frame_len: 64 * 1024,
        max_decompressed_len: 64 * 1024,
        ..Limits::default()
    }
}

fn pipe() -> (Client, FakeServer) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let client = Client::from_io(a, "duplex", ClientOptions::default().limits(limits()));
    let server = FakeServer {
        io: b,
        buf: BytesMut::new(),
    };
    (client, server)
}

/// Starts a call of Echo.Echo in the background.
fn pending_call(
    client: &Client,
    opts: CallOptions,
) -> tokio::task::JoinHandle<Result<Raw, ClientError>> {
    let client = client.clone();
    tokio::spawn(async move {
        client
            .call_with::<_, Raw>("Echo", "Echo", &Raw::from(&b"hi"[..]), opts)
            .await
            .map(|r| r.value)
    })
}

/// The call's outcome, which must come within [`PATIENCE`].
async fn outcome(
    call: tokio::task::JoinHandle<Result<Raw, ClientError>>,
) -> Result<Raw, ClientError> {
    tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the call hung")
        .expect("the call task panicked")
}

fn assert_closed_with(r: Result<Raw, ClientError>, needle: &str) {
    match r {
        Err(ClientError::ConnectionClosed(reason)) => {
            assert!(
                reason.contains(needle),
                "reason {reason:?} lacks {needle:?}"
            )
        }
        other => panic!("expected ConnectionClosed({needle:?}), got {other:?}"),
    }
}

/// After a fatal reply the client is closed and fails new calls at once, typed.
async fn assert_client_dead(client: &Client) {
    tokio::time::timeout(PATIENCE, client.closed())
        .await
        .expect("the client noticed");
    let again = outcome(pending_call(client, CallOptions::default())).await;
    assert!(
        matches!(again, Err(ClientError::ConnectionClosed(_))),
        "{again:?}"
    );
}

#[tokio::test]
async fn bad_magic_fails_the_pending_call_and_closes() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(&client, CallOptions::default());
    srv.request().await;
    srv.send(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    assert_closed_with(outcome(call).await, "magic");
    assert_client_dead(&client).await;
}

#[tokio::test]
async fn oversize_length_fails_the_pending_call_and_closes() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    let mut b = BytesMut::new();
    b.put_slice(&Message::reply_to(&req).header.to_bytes());
    b.put_u32(1 << 30); // announces 1 GiB; the client's limit is 64 KiB
    srv.send(&b).await;
    assert_closed_with(outcome(call).await, "too long");
    assert_client_dead(&client).await;
}

#[tokio::test]
async fn truncated_reply_then_eof_fails_the_pending_call() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    let reply = FakeServer::reply(&req, b"hello");
    srv.send(&reply[..reply.len() - 3]).await;
    srv.io.shutdown().await.unwrap();
    drop(srv);
    let r = outcome(call).await;
    assert!(matches!(r, Err(ClientError::ConnectionClosed(_))), "{r:?}");
    assert_client_dead(&client).await;
}

#[tokio::test]
async fn truncated_reply_with_the_server_silent_ends_in_the_call_timeout() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(
        &client,
        CallOptions::default().timeout(Duration::from_millis(300)),
    );
    let req = srv.request().await;
    let reply = FakeServer::reply(&req, b"hello");
    srv.send(&reply[..20]).await; // and then nothing: the pipe stays open
    let r = outcome(call).await;
    assert!(matches!(r, Err(ClientError::Timeout(_))), "{r:?}");
}

#[tokio::test]
async fn reply_for_an_unknown_seq_is_dropped_and_the_real_one_still_arrives() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    let mut stray = Message::reply_to(&req);
    stray.header.seq = req.header.seq.wrapping_add(1000);
    stray.payload = Bytes::from_static(b"not yours");
    srv.send(&stray.to_bytes().unwrap()).await;
    srv.send(&FakeServer::reply(&req, b"yours")).await;
    assert_eq!(&outcome(call).await.unwrap()[..], b"yours");
    assert!(!client.is_closed());
}

#[tokio::test]
async fn reply_with_a_bad_metadata_block_fails_only_that_call() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    let mut reply = Message::reply_to(&req);
    reply.metadata.insert("k", "v");
    reply.payload = Bytes::from_static(b"x");
    let mut bad = reply.to_bytes().unwrap().to_vec();
    // Names are "Echo"/"Echo": the metadata block starts at 16 + 8 + 8 = 32, its first key
    // length at 36; point it past the block.
    bad[36..40].copy_from_slice(&1000u32.to_be_bytes());
    srv.send(&bad).await;
    let r = outcome(call).await;
    assert!(
        matches!(
            r,
            Err(ClientError::Protocol(ProtocolError::MetadataKvMissing))
        ),
        "{r:?}"
    );
    // The connection lives: the next call works.
    let next = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    srv.send(&FakeServer::reply(&req, b"fine")).await;
    assert_eq!(&outcome(next).await.unwrap()[..], b"fine");
}

#[tokio::test]
async fn gzip_bomb_reply_fails_only_that_call() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    let mut reply = Message::reply_to(&req);
    reply.header.set_compress_type(CompressType::GZIP);
    reply.payload = Bytes::from(vec![0u8; 16 << 20]); // 16 MiB of zeros, ~16 KiB on the wire
    let wire = reply.to_bytes().unwrap();
    assert!(wire.len() < limits().max_frame_len, "{}", wire.len());
    srv.send(&wire).await;
    let r = outcome(call).await;
    assert!(
        matches!(
            r,
            Err(ClientError::Protocol(
                ProtocolError::DecompressedTooLong { .. }
            ))
        ),
        "{r:?}"
    );
    let next = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    srv.send(&FakeServer::reply(&req, b"fine")).await;
    assert_eq!(&outcome(next).await.unwrap()[..], b"fine");
}

#[tokio::test]
async fn garbage_gzip_reply_fails_only_that_call() {
    let _panics = panics::guard();
    let (client, mut srv) = pipe();
    let call = pending_call(&client, CallOptions::default());
    let req = srv.request().await;
    let mut reply = Message::reply_to(&req);
    reply.header.set_compress_type(CompressType::GZIP);
    let mut frame = BytesMut::new();
    reply
        .encode_with_wire_payload(b"\x1f\x8b\x08\0\0\0\0\0\0\xffnot deflate", &mut frame)
        .unwrap();
    srv.send(&frame).await;
    let r = outcome(call).await;
    assert!(
        matches!(r, Err(ClientError::Protocol(ProtocolError::Decompress(_)))),
        "{r:?}"
    );
    assert!(!client.is_closed());
}

/// Generated frames (see `frame_gen`) as replies, the first one often carrying the pending
/// call's seq: whatever they hold, the call ends (a reply, a typed error, or the connection
/// closing when the stream ends) and nothing panics.
#[test]
fn generated_replies_never_hang_or_panic_the_client() {
    let panics = panics::guard();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        frame_gen::stream(3),
        proptest::bool::weighted(0.7),
        proptest::bool::ANY,
    );
    runner
        .run(&strategy, |(mut stream, match_seq, as_response)| {
            rt.block_on(async {
                let (client, mut srv) = pipe();
                let call = pending_call(&client, CallOptions::default());
                let req = srv.request().await;
                if let Some(first) = stream.frames.first_mut() {
                    if match_seq {
                        first.seq = req.header.seq;
                    }
                    if as_response {
                        first.flags |= 0x80;
                        first.flags &= !0x20;
                    }
                }
                srv.send(&stream.to_bytes()).await;
                drop(srv); // the stream ends: the client must not wait forever
                let _ = outcome(call).await;
                tokio::time::timeout(PATIENCE, client.closed())
                    .await
                    .expect("the client noticed the end of the stream");
            });
            panics.check();
            Ok(())
        })
        .unwrap();
}
