//! `Server::serve_connection` and `Client::from_io` over streams that are not TCP: an
//! in-memory pipe (`tokio::io::duplex`) and a Unix socket pair. Calls, concurrency, metadata,
//! server push, malformed input and the end of the stream all work as over TCP.

mod support;

use bytes::Bytes;
use fastrpc::{CallOptions, Client, ClientError, ClientOptions, Metadata, Raw, SerializeType};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const PATIENCE: Duration = Duration::from_secs(10);

fn server() -> fastrpc::Server {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    fastrpc::Server::builder()
        .service(GoArith { notified: tx })
        .service(GoEcho)
        .handler("Push", "Me", |c: fastrpc::Context, n: Raw| async move {
            c.connection()
                .push("Push", "Note", Metadata::new(), Bytes::from(n.to_vec()))
                .await
                .map_err(|e| fastrpc::ServiceError::new(e.to_string()))?;
            Ok::<_, fastrpc::ServiceError>(n)
        })
        .build()
}

/// Serves `server_io` with `serve_connection` and talks to it through `Client::from_io`.
async fn exercise<S, C>(server_io: S, client_io: C)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let srv = server();
    let served = tokio::spawn({
        let srv = srv.clone();
        async move { srv.serve_connection(server_io, "in-memory peer").await }
    });
    let client = Client::from_io(
        client_io,
        "in-memory",
        ClientOptions::default().serialize_type(SerializeType::JSON),
    );
    let mut pushes = client.take_push_receiver().expect("push receiver");

    // A plain call, with metadata both ways.
    let reply = client
        .call_with::<_, GoReply>(
            "Arith",
            "Mul",
            &GoArgs { a: 7, b: 8 },
            CallOptions::default().meta("k", "v"),
        )
        .await
        .unwrap();
    assert_eq!(reply.value.c, 56);
    assert_eq!(reply.metadata.get("k"), Some("v"));
    assert_eq!(reply.metadata.get("server"), Some("go-rpcx"));
    assert_eq!(srv.connections().len(), 1);
    assert_eq!(srv.connections()[0].peer_addr(), "in-memory peer");

    // Many concurrent calls over the one stream.
    let calls = (0..200i64).map(|i| {
        let client = client.clone();
        async move {
            let r: GoReply = client
                .call("Arith", "Add", &GoArgs { a: i, b: 1 })
                .await
                .unwrap();
            assert_eq!(r.c, i + 1);
        }
    });
    futures_join_all(calls).await;

    // A service error, and server push.
    let err = client
        .call::<_, GoReply>("Arith", "Error", &GoArgs { a: 1, b: 2 })
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().map(|e| e.message.as_str()),
        Some("intentional error: A=1 B=2")
    );
    let echoed: Raw = client
        .call("Push", "Me", &Raw::from(&b"note"[..]))
        .await
        .unwrap();
    assert_eq!(&echoed[..], b"note");
    let push = tokio::time::timeout(PATIENCE, pushes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(push.service_method, "Note");
    assert_eq!(&push.payload[..], b"note");

    // Closing the client ends the stream; serve_connection returns and forgets it.
    client.close();
    tokio::time::timeout(PATIENCE, served)
        .await
        .expect("serve_connection returned")
        .unwrap();
    assert!(srv.connections().is_empty());
    assert_eq!(srv.in_flight(), 0);
}

async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    fs: impl Iterator<Item = F>,
) {
    let tasks: Vec<_> = fs.map(tokio::spawn).collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_connection_and_from_io_over_a_duplex_pipe() {
    let _panics = panics::guard();
    let (a, b) = tokio::io::duplex(64 * 1024);
    exercise(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_connection_and_from_io_over_a_small_duplex_buffer() {
    let _panics = panics::guard();
    // A 16-byte pipe: every frame crosses in many small pieces.
    let (a, b) = tokio::io::duplex(16);
    exercise(a, b).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_connection_and_from_io_over_a_unix_socket_pair() {
    let _panics = panics::guard();
    let (a, b) = tokio::net::UnixStream::pair().unwrap();
    exercise(a, b).await;
}

#[tokio::test]
async fn serve_connection_ends_on_bad_magic_and_answers_bad_frames() {
    let _panics = panics::guard();
    let srv = server();
    let (server_io, mut peer) = tokio::io::duplex(64 * 1024);
    let served = tokio::spawn({
        let srv = srv.clone();
        async move { srv.serve_connection(server_io, "duplex").await }
    });
    // A frame whose metadata runs past its block gets an error reply; the stream goes on.
    let mut m = fastrpc::Message::request("Echo", "Echo");
    m.metadata.insert("k", "v");
    let mut bad = m.to_bytes().unwrap().to_vec();
    // Names "Echo"/"Echo": the block starts at 32, its first key length at 36.
    bad[36..40].copy_from_slice(&1000u32.to_be_bytes());
    peer.write_all(&bad).await.unwrap();
    let mut buf = bytes::BytesMut::new();
    let reply = tokio::time::timeout(PATIENCE, async {
        let mut d = fastrpc::protocol::FrameDecoder::default();
        loop {
            if let Some(m) = d.decode(&mut buf).unwrap() {
                return m;
            }
            assert!(peer.read_buf(&mut buf).await.unwrap() > 0);
        }
    })
    .await
    .unwrap();
    assert!(reply.header.is_error());
    // Then bytes that are not rpcx: serve_connection returns.
    peer.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    tokio::time::timeout(PATIENCE, served)
        .await
        .expect("serve_connection returned")
        .unwrap();
    assert!(srv.connections().is_empty());
}

#[tokio::test]
async fn from_io_fails_pending_calls_when_the_stream_ends() {
    let _panics = panics::guard();
    let (client_io, mut server_io) = tokio::io::duplex(1024);
    let client = Client::from_io(client_io, "duplex", ClientOptions::default());
    let call = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .call::<_, Raw>("Echo", "Echo", &Raw::from(&b"x"[..]))
                .await
        }
    });
    // Wait until the request is on the wire, then end the stream under the pending call.
    let mut first = [0u8; 1];
    tokio::time::timeout(PATIENCE, server_io.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    drop(server_io);
    let r = tokio::time::timeout(PATIENCE, call).await.unwrap().unwrap();
    assert!(matches!(r, Err(ClientError::ConnectionClosed(_))), "{r:?}");
}
