//! Bad peers: a server certificate the client does not trust, a client certificate that is
//! missing or wrong, garbage datagrams, and too many connections. Each gets a clear error and
//! no other connection is harmed.

use std::net::SocketAddr;
use std::time::Duration;

use fastrpc_client::{Client, ClientOptions};
use fastrpc_server::{Context, Raw, Server, ServiceError};
use fastrpc_transport_quic::{
    ClientTls, DevCert, QuicError, QuicLimits, QuicListener, QuicStats, QuicStream, ServerTls,
};
use tokio::sync::watch;

const PATIENCE: Duration = Duration::from_secs(60);

fn echo_server() -> Server {
    Server::builder()
        .handler("Echo", "Raw", |_c: Context, a: Raw| async move {
            Ok::<_, ServiceError>(a)
        })
        .build()
}

/// Serves the echo service; the watch follows the listener's counters.
fn serve(tls: &ServerTls, limits: QuicLimits) -> (SocketAddr, watch::Receiver<QuicStats>) {
    let mut listener = QuicListener::bind("127.0.0.1:0".parse().unwrap(), tls, limits).unwrap();
    let addr = listener.local_addr().unwrap();
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

async fn wait_stats(
    rx: &mut watch::Receiver<QuicStats>,
    cond: impl Fn(&QuicStats) -> bool,
) -> QuicStats {
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

async fn client(addr: SocketAddr, tls: &ClientTls) -> Result<Client, QuicError> {
    let stream = QuicStream::connect(addr, "localhost", tls, &QuicLimits::default()).await?;
    Ok(Client::from_io(
        stream,
        addr.to_string(),
        ClientOptions::default(),
    ))
}

async fn echo(c: &Client, b: u8) -> Result<(), String> {
    let r: Raw = tokio::time::timeout(PATIENCE, c.call("Echo", "Raw", &Raw::from(vec![b])))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    assert_eq!(&r[..], [b]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_the_client_does_not_trust() {
    let dev = DevCert::localhost().unwrap();
    let (addr, mut stats) = serve(&ServerTls::new(dev.identity.clone()), QuicLimits::default());
    let good = client(addr, &ClientTls::with_roots(vec![dev.cert()]))
        .await
        .unwrap();
    echo(&good, 1).await.unwrap();

    let other_root = DevCert::localhost().unwrap().cert();
    let e = client(addr, &ClientTls::with_roots(vec![other_root]))
        .await
        .unwrap_err();
    let text = e.to_string();
    eprintln!("untrusted server: {text}");
    assert!(matches!(e, QuicError::Connection(_)), "{text}");
    assert!(text.contains("certificate"), "{text}");
    wait_stats(&mut stats, |s| s.handshakes_failed >= 1).await;

    // The wrong name is refused the same way.
    let stream = QuicStream::connect(
        addr,
        "example.invalid",
        &ClientTls::with_roots(vec![dev.cert()]),
        &QuicLimits::default(),
    )
    .await;
    assert!(stream.is_err());

    echo(&good, 2).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_missing_or_wrong() {
    let server_cert = DevCert::localhost().unwrap();
    let client_cert = DevCert::for_names(&["client.fastrpc.invalid"]).unwrap();
    let tls =
        ServerTls::new(server_cert.identity.clone()).require_client_auth(vec![client_cert.cert()]);
    let (addr, mut stats) = serve(&tls, QuicLimits::default());
    let roots = ClientTls::with_roots(vec![server_cert.cert()]);

    let good = client(
        addr,
        &roots.clone().with_identity(client_cert.identity.clone()),
    )
    .await
    .unwrap();
    echo(&good, 1).await.unwrap();

    // Without a certificate: TLS 1.3 lets the client finish its side of the handshake, so the
    // refusal shows on the first call at the latest.
    let missing = match client(addr, &roots).await {
        Ok(c) => echo(&c, 3).await.unwrap_err(),
        Err(e) => e.to_string(),
    };
    eprintln!("missing client certificate: {missing}");
    assert!(missing.contains("certificate"), "{missing}");
    let s = wait_stats(&mut stats, |s| s.handshakes_failed >= 1).await;
    assert_eq!(s.accepted, 1, "{s:?}");

    // A certificate from another root.
    let stranger = DevCert::for_names(&["client.fastrpc.invalid"]).unwrap();
    let wrong = match client(addr, &roots.clone().with_identity(stranger.identity)).await {
        Ok(c) => echo(&c, 4).await.unwrap_err(),
        Err(e) => e.to_string(),
    };
    eprintln!("wrong client certificate: {wrong}");
    assert!(wrong.contains("certificate"), "{wrong}");
    let s = wait_stats(&mut stats, |s| s.handshakes_failed >= 2).await;
    assert_eq!(s.accepted, 1, "{s:?}");

    echo(&good, 2).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_datagrams_harm_nobody() {
    let dev = DevCert::localhost().unwrap();
    let (addr, stats) = serve(&ServerTls::new(dev.identity.clone()), QuicLimits::default());
    let tls = ClientTls::with_roots(vec![dev.cert()]);
    let good = client(addr, &tls).await.unwrap();
    echo(&good, 1).await.unwrap();

    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..200u32 {
        let len = [1usize, 20, 1200, 1500][i as usize % 4];
        let junk: Vec<u8> = (0..len).map(|b| (b as u32 * 7 + i) as u8).collect();
        udp.send_to(&junk, addr).await.unwrap();
    }
    // A QUIC long header that claims to be an Initial, with a garbage body.
    let mut fake = vec![0xc3, 0, 0, 0, 1, 8];
    fake.extend_from_slice(&[0xaa; 8]);
    fake.resize(1200, 0x55);
    udp.send_to(&fake, addr).await.unwrap();

    echo(&good, 2).await.unwrap();
    let fresh = client(addr, &tls).await.unwrap();
    echo(&fresh, 3).await.unwrap();
    let s = *stats.borrow();
    assert!(s.accepted <= 2, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused() {
    let dev = DevCert::localhost().unwrap();
    let mut limits = QuicLimits::default();
    limits.max_connections = 2;
    let (addr, mut stats) = serve(&ServerTls::new(dev.identity.clone()), limits);
    let tls = ClientTls::with_roots(vec![dev.cert()]);
    let a = client(addr, &tls).await.unwrap();
    let b = client(addr, &tls).await.unwrap();
    echo(&a, 1).await.unwrap();
    echo(&b, 1).await.unwrap();
    let e = client(addr, &tls).await.unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
    let s = wait_stats(&mut stats, |s| s.refused >= 1).await;
    assert_eq!(s.connections_active, 2, "{s:?}");

    // A slot frees when a connection ends.
    drop(a);
    wait_stats(&mut stats, |s| s.connections_active <= 1).await;
    let c = client(addr, &tls).await.unwrap();
    echo(&c, 5).await.unwrap();
    echo(&b, 6).await.unwrap();
}
