//! TLS on TCP (feature `tls`): `Server::builder().tls(..)` makes `tcp@` listeners TLS and
//! `ClientOptions::tls(..)` dials TLS, as Go rpcx's `TLSConfig`; `tls@` is the same through
//! the network registry. A client with the wrong CA, and one without a certificate when the
//! server requires one, each get a typed error while another client's calls go on; bytes that
//! are not TLS harm nothing.
//!
//! `cargo test -p fastrpc --test tls --features tls`
#![cfg(feature = "tls")]

mod support;

use fastrpc::tls::{ClientTls, DevCert, ServerTls, TlsError};
use fastrpc::{Client, ClientError, ClientOptions, Context, Raw, Server, ServiceError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATIENCE: Duration = Duration::from_secs(60);

fn server(tls: ServerTls) -> Server {
    Server::builder()
        .tls(tls)
        .handler("Echo", "Echo", |_c: Context, b: Raw| async move {
            Ok::<_, ServiceError>(b)
        })
        .build()
}

fn opts(tls: ClientTls) -> ClientOptions {
    ClientOptions::default().connect_timeout(PATIENCE).tls(tls)
}

async fn echo(c: &Client, what: &[u8]) {
    let r: Raw = c
        .call("Echo", "Echo", &Raw::from(what.to_vec()))
        .await
        .unwrap();
    assert_eq!(&r[..], what);
}

/// The [`TlsError`] inside a failed connect.
fn tls_error(e: &ClientError) -> &TlsError {
    let ClientError::Connect { source, .. } = e else {
        panic!("not a connect error: {e:?}");
    };
    source
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
        .unwrap_or_else(|| panic!("not a TLS error: {source:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tls_on_tcp() {
    let _panics = support::panics::guard();
    let dev = DevCert::localhost().unwrap();
    let srv = server(ServerTls::new(dev.identity.clone()));
    let h = srv.serve("tcp@127.0.0.1:0").await.unwrap();
    assert!(h.addr().starts_with("tcp@127.0.0.1:"), "{}", h.addr());
    let c = Client::connect_with(h.addr(), opts(ClientTls::with_roots(vec![dev.cert()])))
        .await
        .unwrap();
    echo(&c, b"over tls").await;
    // A payload of several TLS records.
    let big: Vec<u8> = (0..300_000).map(|i| (i % 253) as u8).collect();
    echo(&c, &big).await;
    // A plain TCP client gets no answer it could mistake for rpcx: the server wants TLS.
    let plain = Client::connect_with(
        h.addr(),
        ClientOptions::default().default_timeout(Some(Duration::from_secs(2))),
    )
    .await
    .unwrap();
    let err = plain
        .call::<_, Raw>("Echo", "Echo", &Raw::from(&b"x"[..]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::ConnectionClosed(_) | ClientError::Timeout(_)
        ),
        "{err:?}"
    );
    echo(&c, b"still fine").await;
    assert!(h.shutdown(PATIENCE).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_network_name_serves_and_dials_in_development_mode() {
    let _panics = support::panics::guard();
    fastrpc::tls::use_development_tls().unwrap();
    let srv = Server::builder()
        .handler("Echo", "Echo", |_c: Context, b: Raw| async move {
            Ok::<_, ServiceError>(b)
        })
        .build();
    let h = srv.serve("tls@127.0.0.1:0").await.unwrap();
    assert!(h.addr().starts_with("tls@127.0.0.1:"), "{}", h.addr());
    let c = Client::connect(h.addr()).await.unwrap();
    echo(&c, b"tls@").await;
    assert!(h.shutdown(PATIENCE).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_wrong_ca_gets_a_typed_error_and_harms_no_one() {
    let _panics = support::panics::guard();
    let dev = DevCert::localhost().unwrap();
    let srv = server(ServerTls::new(dev.identity.clone()));
    let h = srv.serve("tcp@127.0.0.1:0").await.unwrap();
    let good = Client::connect_with(h.addr(), opts(ClientTls::with_roots(vec![dev.cert()])))
        .await
        .unwrap();
    echo(&good, b"before").await;

    let other_ca = DevCert::localhost().unwrap().cert();
    let err = Client::connect_with(h.addr(), opts(ClientTls::with_roots(vec![other_ca])))
        .await
        .unwrap_err();
    assert!(
        matches!(
            tls_error(&err),
            TlsError::Handshake(fastrpc::tls::rustls::Error::InvalidCertificate(_))
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("handshake failed"), "{err}");

    echo(&good, b"after").await;
    assert_eq!(srv.connections().len(), 1);
    assert!(h.shutdown(PATIENCE).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_auth_refuses_a_client_without_a_certificate() {
    let _panics = support::panics::guard();
    let server_cert = DevCert::localhost().unwrap();
    let client_ca = DevCert::for_names(&["client.fastrpc.invalid"]).unwrap();
    let srv = server(
        ServerTls::new(server_cert.identity.clone()).require_client_auth(vec![client_ca.cert()]),
    );
    let h = srv.serve("tcp@127.0.0.1:0").await.unwrap();
    let roots = ClientTls::with_roots(vec![server_cert.cert()]);

    let good = Client::connect_with(
        h.addr(),
        opts(roots.clone().with_identity(client_ca.identity.clone())),
    )
    .await
    .unwrap();
    echo(&good, b"authenticated").await;

    // No certificate at all: a typed error at connect.
    let err = Client::connect_with(h.addr(), opts(roots.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(tls_error(&err), TlsError::ClientCertificateRequired),
        "{err:?}"
    );

    // A certificate from another CA: the server refuses it; the client learns it at connect
    // (TLS 1.2) or from the server's alert (TLS 1.3), never with a hang.
    let stranger = DevCert::for_names(&["stranger.fastrpc.invalid"]).unwrap();
    let r = Client::connect_with(h.addr(), opts(roots.with_identity(stranger.identity))).await;
    match r {
        Err(e) => {
            tls_error(&e);
        }
        Ok(c) => {
            let e = c
                .call::<_, Raw>("Echo", "Echo", &Raw::from(&b"x"[..]))
                .await
                .unwrap_err();
            assert!(matches!(e, ClientError::ConnectionClosed(_)), "{e:?}");
        }
    }

    echo(&good, b"still authenticated").await;
    assert_eq!(srv.connections().len(), 1);
    assert!(h.shutdown(PATIENCE).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_sent_to_the_tls_port_harms_nothing() {
    let _panics = support::panics::guard();
    let dev = DevCert::localhost().unwrap();
    let srv = server(ServerTls::new(dev.identity.clone()));
    let h = srv.serve("tcp@127.0.0.1:0").await.unwrap();
    let addr = h.socket_addr().unwrap();
    let good = Client::connect_with(h.addr(), opts(ClientTls::with_roots(vec![dev.cert()])))
        .await
        .unwrap();

    // Not TLS at all, an rpcx frame in the clear, and a TLS record header announcing more
    // than it sends: each is dropped by the listener; none reaches the server.
    let rpcx_in_clear = [0x08u8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    let mut shams: Vec<Vec<u8>> = vec![vec![0xffu8; 4096], rpcx_in_clear.to_vec()];
    shams.push(vec![0x16, 0x03, 0x01, 0xff, 0xff, 0x01]);
    for bytes in shams {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        if bytes[0] != 0x16 {
            // The listener answers with an alert or closes; either way the read ends.
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(PATIENCE, s.read_to_end(&mut sink))
                .await
                .expect("the listener closed the connection");
        }
        drop(s);
    }
    echo(&good, b"unharmed").await;
    assert_eq!(srv.connections().len(), 1);
    assert_eq!(srv.budget_usage().open_connections, 1);
    assert!(h.shutdown(PATIENCE).await);
}
