//! The TLS listener and connector over real sockets: a good handshake, a wrong CA, client
//! auth with and without a certificate, garbage, and a peer that never finishes its
//! handshake, each seen by the listener's own counters.

use fastrpc_transport_tls::{
    ClientTls, DevCert, Identity, ServerTls, TlsConnector, TlsError, TlsLimits, TlsListener,
    TlsStats, host_of, read_certs, rustls,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PATIENCE: Duration = Duration::from_secs(60);

/// Binds a listener that echoes 5 bytes per connection; returns its address and a way to
/// read its counters.
async fn echo_server(
    tls: &ServerTls,
    limits: TlsLimits,
) -> (SocketAddr, tokio::sync::watch::Receiver<TlsStats>) {
    let mut l = TlsListener::bind("127.0.0.1:0", tls, limits).await.unwrap();
    let addr = l.local_addr();
    let (tx, rx) = tokio::sync::watch::channel(l.stats());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tokio::select! {
                accepted = l.accept() => {
                    let Ok((mut s, _)) = accepted else { return };
                    tokio::spawn(async move {
                        let mut buf = [0u8; 5];
                        if s.read_exact(&mut buf).await.is_ok() {
                            let _ = s.write_all(&buf).await;
                            let _ = s.flush().await;
                        }
                    });
                }
                _ = tick.tick() => {
                    if tx.send(l.stats()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    (addr, rx)
}

async fn dial(addr: SocketAddr, tls: &ClientTls) -> Result<(), TlsError> {
    let connector = TlsConnector::new(tls)?;
    let tcp = TcpStream::connect(addr).await?;
    let mut s = connector.connect("localhost", tcp, PATIENCE).await?;
    s.write_all(b"hello").await?;
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).await?;
    assert_eq!(&buf, b"hello");
    Ok(())
}

async fn wait_for(
    stats: &mut tokio::sync::watch::Receiver<TlsStats>,
    what: &str,
    cond: impl Fn(&TlsStats) -> bool,
) {
    tokio::time::timeout(PATIENCE, stats.wait_for(|s| cond(s)))
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_server_wrong_ca_and_garbage() {
    let dev = DevCert::localhost().unwrap();
    let (addr, mut stats) =
        echo_server(&ServerTls::new(dev.identity.clone()), TlsLimits::default()).await;
    dial(addr, &ClientTls::with_roots(vec![dev.cert()]))
        .await
        .unwrap();
    dial(addr, &ClientTls::development()).await.unwrap();

    let e = dial(
        addr,
        &ClientTls::with_roots(vec![DevCert::localhost().unwrap().cert()]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, TlsError::Handshake(rustls::Error::InvalidCertificate(_))),
        "{e:?}"
    );
    wait_for(&mut stats, "the wrong-CA handshake counted", |s| {
        s.handshakes_failed == 1
    })
    .await;

    let mut junk = TcpStream::connect(addr).await.unwrap();
    junk.write_all(&[0x42; 1024]).await.unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, junk.read_to_end(&mut sink))
        .await
        .expect("the listener closed the garbage connection");
    wait_for(&mut stats, "the garbage counted", |s| {
        s.handshakes_failed == 2
    })
    .await;

    dial(addr, &ClientTls::with_roots(vec![dev.cert()]))
        .await
        .unwrap();
    wait_for(&mut stats, "three good handshakes", |s| {
        s.accepted == 3 && s.handshakes_pending == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_auth_with_and_without_a_certificate() {
    let server_cert = DevCert::localhost().unwrap();
    let client_cert = DevCert::for_names(&["client.fastrpc.invalid"]).unwrap();
    let tls =
        ServerTls::new(server_cert.identity.clone()).require_client_auth(vec![client_cert.cert()]);
    let (addr, mut stats) = echo_server(&tls, TlsLimits::default()).await;
    let roots = ClientTls::with_roots(vec![server_cert.cert()]);

    dial(
        addr,
        &roots.clone().with_identity(client_cert.identity.clone()),
    )
    .await
    .unwrap();
    let e = dial(addr, &roots).await.unwrap_err();
    assert!(matches!(e, TlsError::ClientCertificateRequired), "{e:?}");
    wait_for(&mut stats, "the certificate-less handshake counted", |s| {
        s.handshakes_failed == 1
    })
    .await;
    assert_eq!(stats.borrow().accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_times_out_and_others_go_on() {
    let dev = DevCert::localhost().unwrap();
    let limits = TlsLimits::default()
        .handshake_timeout(Duration::from_millis(300))
        .max_handshakes(4);
    let (addr, mut stats) = echo_server(&ServerTls::new(dev.identity.clone()), limits).await;
    // Four peers that never speak fill every handshake slot until they time out.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // A real client waits for a slot, then succeeds.
    dial(addr, &ClientTls::with_roots(vec![dev.cert()]))
        .await
        .unwrap();
    wait_for(&mut stats, "the idle peers timed out", |s| {
        s.handshakes_failed == 4 && s.accepted == 1
    })
    .await;
    drop(idle);
}

#[test]
fn pem_and_der_configuration() {
    let dev = DevCert::localhost().unwrap();
    let der = dev.cert().as_ref().to_vec();
    // PEM by hand: base64 of the DER, as `openssl x509 -outform PEM` writes it.
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64(&der)
    );
    assert_eq!(read_certs(pem.as_bytes()).unwrap()[0].as_ref(), &der[..]);
    assert!(matches!(read_certs(b"nothing here"), Err(TlsError::Pem(_))));
    assert!(matches!(
        Identity::from_der(vec![], vec![1]),
        Err(TlsError::Pem(_))
    ));
    // A key that does not match the certificate is refused when the configuration is built.
    let other = DevCert::localhost().unwrap();
    let mismatched = Identity {
        chain: dev.identity.chain.clone(),
        key: other.identity.key.clone_key(),
    };
    assert!(ServerTls::new(mismatched).to_rustls().is_err());
    assert!(ServerTls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").is_err());
    assert_eq!(host_of("[::1]:8972"), "::1");
    assert_eq!(host_of("localhost:8972"), "localhost");
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}
