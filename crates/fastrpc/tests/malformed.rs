//! Malformed input over real sockets: a typed error on that connection (reported to plugins,
//! and answered with an error reply when the frame could be delimited), no panic, and the same
//! server keeps serving other connections.

mod support;

use bytes::BufMut;
use fastrpc::protocol::{CompressType, Limits, Message, ProtocolError, SerializeType};
use fastrpc::server::{Connection, PluginError, ServerPlugin};
use fastrpc::{Client, Context, Raw, Server, ServerOptions, ServiceError};
use std::sync::{Arc, Mutex};
use support::*;

/// Collects the decode errors the server saw.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

impl ServerPlugin for Errors {
    fn post_read_request(
        &self,
        _c: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        if let Err(e) = msg {
            self.0.lock().unwrap().push(format!("{e:?}"));
        }
        Ok(())
    }
}

struct Fixture {
    srv: fastrpc::server::ServerHandle,
    errors: Errors,
    /// A well-behaved client on its own connection, opened before the bad input.
    bystander: Client,
}

async fn fixture() -> Fixture {
    let errors = Errors::default();
    let limits = Limits {
        max_frame_len: 64 * 1024,
        max_decompressed_len: 1024 * 1024,
        ..Limits::default()
    };
    let server = Server::builder()
        .options(ServerOptions::default().limits(limits))
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(errors.clone())
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let bystander = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    Fixture {
        srv,
        errors,
        bystander,
    }
}

impl Fixture {
    async fn still_serving(&self) {
        let r: Raw = self
            .bystander
            .call("Echo", "Echo", &Raw::from(&b"ok"[..]))
            .await
            .unwrap();
        assert_eq!(&r[..], b"ok");
        let fresh = Client::connect(&self.srv.local_addr().to_string())
            .await
            .unwrap();
        let r: Raw = fresh
            .call("Echo", "Echo", &Raw::from(&b"new"[..]))
            .await
            .unwrap();
        assert_eq!(&r[..], b"new");
    }

    fn saw(&self, needle: &str) -> bool {
        self.errors
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains(needle))
    }
}

fn echo_frame(payload: &[u8]) -> Vec<u8> {
    let mut m = Message::request("Echo", "Echo");
    m.header.seq = 7;
    m.payload = bytes::Bytes::copy_from_slice(payload);
    m.to_bytes().unwrap().to_vec()
}

#[tokio::test]
async fn bad_magic_closes_only_that_connection() {
    let _panics = support::panics::guard();
    let f = fixture().await;
    let mut c = RawConn::connect(f.srv.socket_addr().unwrap()).await;
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(c.closed_by_server().await);
    assert!(f.saw("BadMagic(71)"));
    f.still_serving().await;
}

#[tokio::test]
async fn truncated_frame_then_eof() {
    let _panics = support::panics::guard();
    let f = fixture().await;
    let mut c = RawConn::connect(f.srv.socket_addr().unwrap()).await;
    let frame = echo_frame(b"hello");
    c.send(&frame[..frame.len() - 3]).await;
    c.stream.shutdown().await.unwrap();
    assert!(c.closed_by_server().await);
    assert!(f.saw("TruncatedFrame"));
    f.still_serving().await;
}

#[tokio::test]
async fn oversize_frame_is_refused_without_buffering_it() {
    let _panics = support::panics::guard();
    let f = fixture().await;
    let mut c = RawConn::connect(f.srv.socket_addr().unwrap()).await;
    let mut b = bytes::BytesMut::new();
    b.put_slice(&[0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    b.put_u32(1 << 30); // announces 1 GiB
    c.send(&b).await;
    assert!(c.closed_by_server().await);
    assert!(f.saw("FrameTooLong"));
    f.still_serving().await;
}

#[tokio::test]
async fn metadata_lengths_past_the_frame_get_an_error_reply_and_the_connection_lives() {
    let _panics = support::panics::guard();
    let f = fixture().await;
    let mut c = RawConn::connect(f.srv.socket_addr().unwrap()).await;
    let mut m = Message::request("Echo", "Echo");
    m.header.seq = 11;
    m.metadata.insert("k", "v");
    m.payload = bytes::Bytes::from_static(b"x");
    let mut bad = m.to_bytes().unwrap().to_vec();
    // metadata block starts at 16 + (4+4) + (4+4) = 32; its first key length is at 36.
    bad[36..40].copy_from_slice(&1000u32.to_be_bytes());
    c.send(&bad).await;
    let reply = c.read_msg().await.unwrap();
    assert_eq!(reply.header.seq, 11);
    assert!(reply.header.is_error());
    assert_eq!(
        reply.error_text(),
        Some("wrong metadata lines. some keys or values are missing")
    );
    assert!(f.saw("MetadataKvMissing"));
    // The same connection goes on.
    c.send(&echo_frame(b"after")).await;
    let ok = c.read_msg().await.unwrap();
    assert!(!ok.header.is_error());
    assert_eq!(&ok.payload[..], b"after");
    f.still_serving().await;
}

#[tokio::test]
async fn gzip_bomb_fails_cleanly() {
    let _panics = support::panics::guard();
    let f = fixture().await;
    let mut c = RawConn::connect(f.srv.socket_addr().unwrap()).await;
    let mut m = Message::request("Echo", "Echo");
    m.header.seq = 5;
    m.header.set_compress_type(CompressType::GZIP);
    m.payload = bytes::Bytes::from(vec![0u8; 32 << 20]); // 32 MiB of zeros, ~32 KiB compressed
    let wire = m.to_bytes().unwrap();
    assert!(
        wire.len() < 64 * 1024,
        "fits the frame limit: {}",
        wire.len()
    );
    c.send(&wire).await;
    let reply = c.read_msg().await.unwrap();
    assert!(reply.header.is_error());
    assert!(
        reply.error_text().unwrap().contains("exceeds the limit"),
        "{:?}",
        reply.error_text()
    );
    assert!(f.saw("DecompressedTooLong"));
    f.still_serving().await;
}

#[tokio::test]
async fn garbage_after_a_valid_frame() {
    let _panics = support::panics::guard();
    let f = fixture().await;
    let mut c = RawConn::connect(f.srv.socket_addr().unwrap()).await;
    let mut bytes = echo_frame(b"first");
    bytes.extend_from_slice(b"\xde\xad\xbe\xef garbage");
    c.send(&bytes).await;
    let reply = c.read_msg().await.unwrap();
    assert_eq!(&reply.payload[..], b"first", "the valid frame is answered");
    assert!(c.closed_by_server().await);
    assert!(f.saw("BadMagic(222)"));
    f.still_serving().await;
}

#[tokio::test]
async fn random_bytes_never_hurt_the_server() {
    let _panics = support::panics::guard();
    let f = fixture().await;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..50 {
        let mut c = RawConn::connect(f.srv.socket_addr().unwrap()).await;
        let mut junk = vec![0x08u8]; // start like a frame to get past the magic check
        for _ in 0..(64 + round * 7) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            junk.push(seed as u8);
        }
        c.send(&junk).await;
        drop(c);
    }
    f.still_serving().await;
    let _ = SerializeType::NONE;
}

use tokio::io::AsyncWriteExt;
