//! Hand-made peers: a Go-style client writing text frames, a Go-style server answering in
//! binary frames and checking `Origin`, and bad peers (garbage, wrong paths, protocol
//! violations, an untrusted certificate, too many connections). Each bad peer gets a clear
//! error and no other connection is harmed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use fastrpc_client::{Client, ClientOptions};
use fastrpc_core::{FrameDecoder, Message, SerializeType};
use fastrpc_server::{Context, Raw, Server, ServiceError};
use fastrpc_transport_ws::rustls::pki_types::CertificateDer;
use fastrpc_transport_ws::rustls::{self, RootCertStore};
use fastrpc_transport_ws::{WsConfig, WsError, WsListener, WsStats, WsStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const PATIENCE: Duration = Duration::from_secs(60);

fn echo_server() -> Server {
    Server::builder()
        .handler("Echo", "Raw", |_c: Context, a: Raw| async move {
            Ok::<_, ServiceError>(a)
        })
        .build()
}

/// Serves the echo service on a ws (or, with `tls`, wss) listener; the watch follows its counters.
async fn serve(
    cfg: WsConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (SocketAddr, watch::Receiver<WsStats>) {
    let mut listener = match tls {
        Some(tls) => WsListener::bind_tls("127.0.0.1:0", tls, cfg).await.unwrap(),
        None => WsListener::bind("127.0.0.1:0", cfg).await.unwrap(),
    };
    let addr = listener.local_addr();
    let (tx, rx) = watch::channel(listener.stats());
    let server = echo_server();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                r = listener.accept() => {
                    let Ok((stream, peer)) = r else { return };
                    let server = server.clone();
                    tokio::spawn(async move { server.serve_connection(stream, peer.to_string()).await });
                }
                _ = tick.tick() => { let _ = tx.send(listener.stats()); }
            }
        }
    });
    (addr, rx)
}

async fn wait_stats(rx: &mut watch::Receiver<WsStats>, cond: impl Fn(&WsStats) -> bool) -> WsStats {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let s = *rx.borrow_and_update();
            if cond(&s) {
                return s;
            }
            rx.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("counters never got there: {:?}", *rx.borrow()))
}

async fn ws_client(addr: SocketAddr) -> Client {
    let stream = WsStream::connect(&addr.to_string(), &WsConfig::default())
        .await
        .unwrap();
    Client::from_io(stream, addr.to_string(), ClientOptions::default())
}

async fn echo(c: &Client, b: u8) {
    let r: Raw = tokio::time::timeout(PATIENCE, c.call("Echo", "Raw", &Raw::from(vec![b])))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(&r[..], [b]);
}

/// One frame the way a Go x/net/websocket client writes it: FIN, `opcode`, masked.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Reads an HTTP head off `s`; returns it as text and any bytes after it.
async fn read_head(s: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(at + 4);
            return (String::from_utf8(buf).unwrap(), rest);
        }
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(PATIENCE, s.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "closed before the end of the head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Upgrades a raw socket the way Go's x/net/websocket client does.
async fn go_style_upgrade(addr: SocketAddr, path: &str) -> (TcpStream, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://{addr}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let (head, rest) = read_head(&mut s).await;
    (s, head, rest)
}

/// Reads server frames (unmasked) until one whole rpcx message decodes; returns it and the
/// opcodes seen.
async fn read_reply(s: &mut TcpStream, mut raw: Vec<u8>) -> (Message, Vec<u8>) {
    let mut stream = BytesMut::new();
    let mut opcodes = Vec::new();
    loop {
        // Take whole frames off `raw`.
        while raw.len() >= 2 {
            assert_eq!(raw[1] & 0x80, 0, "server frames are not masked");
            let (len, hl) = match raw[1] & 0x7f {
                126 if raw.len() >= 4 => (u16::from_be_bytes([raw[2], raw[3]]) as usize, 4),
                127 if raw.len() >= 10 => (
                    u64::from_be_bytes(raw[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                n if n < 126 => (n as usize, 2),
                _ => break,
            };
            if raw.len() < hl + len {
                break;
            }
            opcodes.push(raw[0]);
            stream.extend_from_slice(&raw[hl..hl + len]);
            raw.drain(..hl + len);
        }
        if let Some(m) = FrameDecoder::default().decode(&mut stream).unwrap() {
            return (m, opcodes);
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(PATIENCE, s.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before the reply");
        raw.extend_from_slice(&chunk[..n]);
    }
}

/// Go's client writes each `Write` as a *text* frame whose payload is binary rpcx data; the
/// server reads the frames as one byte stream and answers in binary frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_style_client_writing_text_frames() {
    let (addr, _stats) = serve(WsConfig::default(), None).await;
    let (mut s, head, rest) = go_style_upgrade(addr, "/_rpcx_").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );

    let mut req = Message::request("Echo", "Raw");
    req.header.seq = 7;
    req.header.set_serialize_type(SerializeType::NONE);
    req.payload = bytes::Bytes::from_static(b"\xff\xfe not utf-8 \xc3\x28");
    let wire = req.to_bytes().unwrap();
    // Two text frames, split inside the rpcx header.
    let mut frames = client_frame(0x1, &wire[..5]);
    frames.extend(client_frame(0x1, &wire[5..]));
    s.write_all(&frames).await.unwrap();

    let (reply, opcodes) = read_reply(&mut s, rest).await;
    assert!(reply.header.is_response());
    assert_eq!(reply.header.seq, 7);
    assert_eq!(reply.payload, req.payload);
    assert!(
        opcodes.iter().all(|&o| o == 0x82),
        "binary frames: {opcodes:x?}"
    );

    // A ping is answered with a pong carrying the same bytes.
    s.write_all(&client_frame(0x9, b"hi")).await.unwrap();
    let mut pong = [0u8; 4];
    tokio::time::timeout(PATIENCE, s.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pong, [0x8a, 2, b'h', b'i']);
}

/// The client sends `Origin` (Go's server refuses a request without one) and reads a reply that
/// comes in binary frames cut anywhere, answering a ping on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_against_a_go_style_server() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let (head, _) = read_head(&mut s).await;
        assert!(head.starts_with("GET /_rpcx_ HTTP/1.1\r\n"), "{head}");
        assert!(
            head.contains(&format!("Origin: http://{addr}\r\n")),
            "{head}"
        );
        assert!(head.contains("Sec-WebSocket-Version: 13\r\n"), "{head}");
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let accept = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        // The reply follows the 101 in the same write, as the bytes may.
        let mut out = resp.into_bytes();
        out.extend_from_slice(&[0x82, 3, b'a', b'b', b'c']);
        out.extend_from_slice(&[0x89, 1, b'!']);
        out.extend_from_slice(&[0x82, 2, b'd', b'e']);
        s.write_all(&out).await.unwrap();
        // The client's pong: masked, same payload.
        let mut pong = [0u8; 7];
        s.read_exact(&mut pong).await.unwrap();
        assert_eq!(pong[0], 0x8a);
        assert_eq!(pong[1], 0x80 | 1);
        assert_eq!(pong[6] ^ pong[2], b'!');
    });
    let mut c = WsStream::connect(&addr.to_string(), &WsConfig::default())
        .await
        .unwrap();
    let mut got = [0u8; 5];
    tokio::time::timeout(PATIENCE, c.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"abcde");
    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_wrong_paths_get_clear_answers() {
    let (addr, mut stats) = serve(WsConfig::default(), None).await;
    let good = ws_client(addr).await;
    echo(&good, 1).await;

    // Not HTTP at all.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"\x08\x00\x00garbage\x01\x02\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");

    // HTTP but not a WebSocket upgrade.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /_rpcx_ HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (head, rest) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let mut body = String::from_utf8(rest).unwrap();
    let _ = s.read_to_string(&mut body).await;
    assert!(body.contains("Upgrade: websocket"), "{body}");

    // A head that never ends.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(&[b'a'; 9000]).await;
    let (head, _) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");

    // The wrong path: 404, and the client says so.
    let mut cfg = WsConfig::default();
    cfg.path = "/nope".into();
    let e = WsStream::connect(&addr.to_string(), &cfg)
        .await
        .unwrap_err();
    assert!(matches!(e, WsError::Status(404)), "{e}");

    let s = wait_stats(&mut stats, |s| s.handshakes_failed >= 4 && s.accepted >= 1).await;
    assert_eq!((s.accepted, s.handshakes_failed), (1, 4), "{s:?}");
    echo(&good, 2).await;
}

/// Frames that break RFC 6455 end that connection only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_end_only_that_connection() {
    let (addr, mut stats) = serve(WsConfig::default(), None).await;
    let good = ws_client(addr).await;
    echo(&good, 1).await;

    let violations: [&[u8]; 4] = [
        // An unmasked client frame.
        &[0x82, 3, 1, 2, 3],
        // Reserved bits.
        &[0xc2, 0x81, 0, 0, 0, 0, 9],
        // A reserved opcode.
        &[0x83, 0x80, 0, 0, 0, 0],
        // A message announced far beyond the limit: refused on the header alone.
        &[0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4],
    ];
    for bad in violations {
        let (mut s, head, _) = go_style_upgrade(addr, "/_rpcx_").await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        s.write_all(bad).await.unwrap();
        // The server drops the connection: end of stream (or a reset).
        let mut sink = Vec::new();
        let r = tokio::time::timeout(PATIENCE, s.read_to_end(&mut sink)).await;
        assert!(r.is_ok(), "the server closed the connection after {bad:x?}");
    }
    wait_stats(&mut stats, |s| s.connections_active == 1 && s.accepted == 5).await;
    echo(&good, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_an_untrusted_certificate() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.into())
        .unwrap();
    let client_tls = |root: CertificateDer<'static>| {
        let mut roots = RootCertStore::empty();
        roots.add(root).unwrap();
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    };
    let (addr, mut stats) = serve(WsConfig::default(), Some(Arc::new(server_tls))).await;
    let a = addr.to_string();
    let good = WsStream::connect_tls(&a, "localhost", client_tls(cert), &WsConfig::default())
        .await
        .unwrap();
    let good = Client::from_io(good, a.clone(), ClientOptions::default());
    echo(&good, 1).await;

    let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let e = WsStream::connect_tls(
        &a,
        "localhost",
        client_tls(stranger.cert.der().clone()),
        &WsConfig::default(),
    )
    .await
    .unwrap_err();
    eprintln!("untrusted wss server: {e}");
    assert!(e.to_string().contains("certificate"), "{e}");

    // Plain ws against the wss port.
    let e = WsStream::connect(&a, &WsConfig::default())
        .await
        .unwrap_err();
    eprintln!("ws to a wss port: {e}");

    wait_stats(&mut stats, |s| s.handshakes_failed >= 2).await;
    echo(&good, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused() {
    let mut cfg = WsConfig::default();
    cfg.max_connections = 1;
    let (addr, mut stats) = serve(cfg, None).await;
    let good = ws_client(addr).await;
    echo(&good, 1).await;
    let e = WsStream::connect(&addr.to_string(), &WsConfig::default())
        .await
        .unwrap_err();
    // Usually the 503; the close may also overtake it (a reset when the request arrives late).
    assert!(
        matches!(
            e,
            WsError::Status(503) | WsError::ClosedDuringHandshake | WsError::Io(_)
        ),
        "{e}"
    );
    let s = wait_stats(&mut stats, |s| s.refused >= 1).await;
    assert_eq!(s.connections_active, 1, "{s:?}");
    echo(&good, 2).await;
    drop(good);
    wait_stats(&mut stats, |s| s.connections_active == 0).await;
    let again = ws_client(addr).await;
    echo(&again, 3).await;
}

/// fastrpc's writer never calls `flush`: every write must reach the peer on its own, through
/// TLS too (which keeps records until flushed). Both sides write without flushing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_arrive_without_flush_over_wss() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.into())
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let client_tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut l = WsListener::bind_tls("127.0.0.1:0", Arc::new(server_tls), WsConfig::default())
        .await
        .unwrap();
    let addr = l.local_addr().to_string();
    const N: usize = 3 << 20;
    let echo = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let (mut r, mut w) = tokio::io::split(s);
        // Echo chunk by chunk while the client is still writing, never flushing.
        // Small reads with yields: the client's socket is often full when its last write ends.
        let mut buf = vec![0u8; 16 << 10];
        let mut total = 0;
        while total < N {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0);
            w.write_all(&buf[..n]).await.unwrap();
            total += n;
            tokio::task::yield_now().await;
        }
        (r, w)
    });
    let s = WsStream::connect_tls(
        &addr,
        "localhost",
        Arc::new(client_tls),
        &WsConfig::default(),
    )
    .await
    .unwrap();
    let (mut r, mut w) = tokio::io::split(s);
    let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        for chunk in sent.chunks(300_000) {
            w.write_all(chunk).await.unwrap();
        }
        w
    });
    let mut back = vec![0u8; N];
    tokio::time::timeout(PATIENCE, r.read_exact(&mut back))
        .await
        .expect("every byte came back without a flush")
        .unwrap();
    assert!(back == data);
    let _w = writer.await.unwrap();
    let _ = echo.await.unwrap();
}
