//! Flow control as a byte budget, and ALPN: a peer that does not read holds the writer to the
//! stream window, and a peer that speaks another protocol fails the handshake.

use std::sync::Arc;
use std::time::Duration;

use fastrpc_transport_quic::{ClientTls, DevCert, QuicLimits, QuicListener, QuicStream, ServerTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATIENCE: Duration = Duration::from_secs(60);

/// The server does not read: the client can get at most the server's stream window (plus its
/// own send buffer, which quinn caps by the same credit) written; once the server reads, the
/// rest flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_read_stops_the_writer_at_the_window() {
    let dev = DevCert::localhost().unwrap();
    let mut limits = QuicLimits::default();
    limits.stream_receive_window = 256 << 10;
    limits.receive_window = 256 << 10;
    let mut listener = QuicListener::bind(
        "127.0.0.1:0".parse().unwrap(),
        &ServerTls::new(dev.identity.clone()),
        limits.clone(),
    )
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = ClientTls::with_roots(vec![dev.cert()]);
    let mut client = QuicStream::connect(addr, "localhost", &tls, &QuicLimits::default())
        .await
        .unwrap();

    const TOTAL: usize = 8 << 20;
    let (written_tx, written_rx) = tokio::sync::watch::channel(0usize);
    let writer = tokio::spawn(async move {
        let chunk = vec![0xabu8; 16 << 10];
        let mut written = 0;
        while written < TOTAL {
            client.write_all(&chunk).await.unwrap();
            written += chunk.len();
            written_tx.send_replace(written);
        }
        client.shutdown().await.unwrap();
        client
    });
    let (mut server_side, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();

    // The writer can never finish while nobody reads; give it time to fill what it may.
    let mut rx = written_rx.clone();
    let stalled = tokio::time::timeout(Duration::from_secs(2), async {
        while *rx.borrow_and_update() < TOTAL {
            rx.changed().await.unwrap();
        }
    })
    .await;
    assert!(
        stalled.is_err(),
        "8 MiB cannot go through an unread 256 KiB window"
    );
    let in_flight = *written_rx.borrow();
    eprintln!("written while the server did not read: {in_flight} bytes");
    assert!(in_flight <= 2 * (256 << 10) + (16 << 10), "{in_flight}");

    let mut sink = Vec::new();
    tokio::time::timeout(PATIENCE, server_side.read_to_end(&mut sink))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sink.len(), TOTAL);
    let _client = tokio::time::timeout(PATIENCE, writer)
        .await
        .unwrap()
        .unwrap();
}

/// A client offering another ALPN protocol is refused in the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_alpn_fails_the_handshake() {
    let dev = DevCert::localhost().unwrap();
    let listener = QuicListener::bind(
        "127.0.0.1:0".parse().unwrap(),
        &ServerTls::new(dev.identity.clone()),
        QuicLimits::default(),
    )
    .unwrap();
    let addr = listener.local_addr().unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(dev.cert()).unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let e = tokio::time::timeout(
        PATIENCE,
        endpoint
            .connect_with(
                quinn::ClientConfig::new(Arc::new(crypto)),
                addr,
                "localhost",
            )
            .unwrap(),
    )
    .await
    .unwrap()
    .unwrap_err();
    eprintln!("another ALPN: {e}");
    // TLS alert 120: no_application_protocol.
    assert!(e.to_string().contains("error 120"), "{e}");

    tokio::time::timeout(PATIENCE, async {
        while listener.stats().handshakes_failed == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}
