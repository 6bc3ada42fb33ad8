//! The shared transport suite over WebSocket, ws and wss: a real fastrpc server behind a
//! `WsListener` on 127.0.0.1, real clients over `WsStream`.

#[path = "../../transport-quic/tests/suite/mod.rs"]
mod suite;

use std::sync::Arc;

use fastrpc_client::Client;
use fastrpc_server::Server;
use fastrpc_transport_ws::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use fastrpc_transport_ws::rustls::{self, RootCertStore};
use fastrpc_transport_ws::{WsConfig, WsListener, WsStream};
use suite::{BoxFuture, Dial};

fn serve_ws(server: Server) -> BoxFuture<Dial> {
    Box::pin(async move {
        let mut listener = WsListener::bind("127.0.0.1:0", WsConfig::default())
            .await
            .unwrap();
        let addr = listener.local_addr().to_string();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(
                    async move { server.serve_connection(stream, peer.to_string()).await },
                );
            }
        });
        let dial: Dial = Arc::new(move |opts| {
            let addr = addr.clone();
            Box::pin(async move {
                let stream = WsStream::connect(&addr, &WsConfig::default())
                    .await
                    .unwrap();
                Client::from_io(stream, addr, opts)
            })
        });
        dial
    })
}

/// A self-signed certificate for localhost, and client and server TLS configurations with it.
pub fn tls_pair() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.into())
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

fn serve_wss(server: Server) -> BoxFuture<Dial> {
    Box::pin(async move {
        let (server_tls, client_tls) = tls_pair();
        let mut listener = WsListener::bind_tls("127.0.0.1:0", server_tls, WsConfig::default())
            .await
            .unwrap();
        let addr = listener.local_addr().to_string();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(
                    async move { server.serve_connection(stream, peer.to_string()).await },
                );
            }
        });
        let dial: Dial = Arc::new(move |opts| {
            let addr = addr.clone();
            let client_tls = client_tls.clone();
            Box::pin(async move {
                let stream =
                    WsStream::connect_tls(&addr, "localhost", client_tls, &WsConfig::default())
                        .await
                        .unwrap();
                Client::from_io(stream, addr, opts)
            })
        });
        dial
    })
}

macro_rules! suite_over {
    ($transport:ident, $serve:ident) => {
        mod $transport {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn every_serialize_type() {
                suite::every_serialize_type($serve).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_4_mib_payload() {
                suite::a_4_mib_payload($serve).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_thousand_concurrent_calls() {
                suite::a_thousand_concurrent_calls($serve).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn error_replies() {
                suite::error_replies($serve).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn oneway() {
                suite::oneway($serve).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn heartbeat() {
                suite::heartbeat($serve).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn server_push() {
                suite::server_push($serve).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn graceful_close() {
                suite::graceful_close($serve).await;
            }
        }
    };
}

suite_over!(ws, serve_ws);
suite_over!(wss, serve_wss);
