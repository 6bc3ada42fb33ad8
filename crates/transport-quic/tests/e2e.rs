//! The shared transport suite over QUIC: a real fastrpc server behind a `QuicListener` on
//! 127.0.0.1, real clients over `QuicStream`, TLS with the development certificate.

mod suite;

use std::sync::Arc;

use fastrpc_client::Client;
use fastrpc_server::Server;
use fastrpc_transport_quic::{ClientTls, DevCert, QuicLimits, QuicListener, QuicStream, ServerTls};
use suite::{BoxFuture, Dial};

/// Serves `server` over QUIC; the dialer trusts the server's development certificate as a
/// root (full verification, not the skip-verification mode).
fn serve(server: Server) -> BoxFuture<Dial> {
    Box::pin(async move {
        let dev = DevCert::localhost().unwrap();
        let tls = ServerTls::new(dev.identity.clone());
        let mut listener =
            QuicListener::bind("127.0.0.1:0".parse().unwrap(), &tls, QuicLimits::default())
                .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(
                    async move { server.serve_connection(stream, peer.to_string()).await },
                );
            }
        });
        let client_tls = ClientTls::with_roots(vec![dev.cert()]);
        let dial: Dial = Arc::new(move |opts| {
            let client_tls = client_tls.clone();
            Box::pin(async move {
                let stream =
                    QuicStream::connect(addr, "localhost", &client_tls, &QuicLimits::default())
                        .await
                        .unwrap();
                Client::from_io(stream, addr.to_string(), opts)
            })
        });
        dial
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_serialize_type() {
    suite::every_serialize_type(serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_mib_payload() {
    suite::a_4_mib_payload(serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls() {
    suite::a_thousand_concurrent_calls(serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_replies() {
    suite::error_replies(serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway() {
    suite::oneway(serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat() {
    suite::heartbeat(serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_push() {
    suite::server_push(serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_close() {
    suite::graceful_close(serve).await;
}

/// The development mode: a self-signed certificate and a client that skips verification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_mode_round_trip() {
    let mut listener = QuicListener::bind(
        "127.0.0.1:0".parse().unwrap(),
        &ServerTls::development().unwrap(),
        QuicLimits::default(),
    )
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let server = suite::server(tx);
    drop(rx);
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let server = server.clone();
            tokio::spawn(async move { server.serve_connection(stream, peer.to_string()).await });
        }
    });
    let stream = QuicStream::connect(
        addr,
        "localhost",
        &ClientTls::development(),
        &QuicLimits::default(),
    )
    .await
    .unwrap();
    assert!(stream.connection().handshake_data().is_some());
    let client = Client::from_io(stream, addr.to_string(), Default::default());
    let r: fastrpc_server::Raw = client
        .call("Echo", "Raw", &fastrpc_server::Raw::from(vec![4, 2]))
        .await
        .unwrap();
    assert_eq!(&r[..], [4, 2]);
}
