//! A real fastrpc server and client talking over KcpListener / KcpStream on 127.0.0.1.

mod support;

use std::time::{Duration, Instant};

/// The 4 MiB echo runs at kcp-go's default pace (ACKs once per 100 ms interval).
const BIG_PATIENCE: Duration = Duration::from_secs(300);

use fastrpc_server::Raw;
use fastrpc_transport_kcp::{BlockCrypt, KcpConfig};
use support::*;

async fn concurrent_calls_and_a_large_payload(cfg: KcpConfig) {
    let running = serve(cfg.clone()).await;
    let client = client(running.addr, cfg).await;

    let calls = (0..100u32).map(|i| {
        let client = client.clone();
        async move {
            let body = Raw::from(format!("call {i}").into_bytes());
            let r: Raw = client.call("Echo", "Echo", &body).await.unwrap();
            assert_eq!(&r[..], format!("call {i}").as_bytes());
        }
    });
    tokio::time::timeout(PATIENCE, futures_join_all(calls))
        .await
        .expect("100 concurrent calls");

    let big: Vec<u8> = (0..4 * 1024 * 1024u32)
        .map(|i| ((i * 31) >> 3) as u8)
        .collect();
    let started = Instant::now();
    let r: Raw = tokio::time::timeout(
        BIG_PATIENCE,
        client.call("Echo", "Echo", &Raw::from(big.clone())),
    )
    .await
    .expect("4 MiB echo in time")
    .unwrap();
    assert!(r[..] == big[..], "4 MiB came back intact");
    eprintln!("4 MiB echo over kcp took {:?}", started.elapsed());
}

async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    fs: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_over_kcp_with_aes() {
    concurrent_calls_and_a_large_payload(KcpConfig::rpcx_example()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_over_kcp_with_none_crypt() {
    concurrent_calls_and_a_large_payload(KcpConfig::new(BlockCrypt::none())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_another_key_gets_nowhere() {
    let mut running = serve(KcpConfig::rpcx_example()).await;
    let key = [7u8; 16];
    let mut cfg = KcpConfig::new(BlockCrypt::aes(&key).unwrap());
    cfg.dead_link = 3;
    let client = client(running.addr, cfg).await;
    let e = tokio::time::timeout(
        PATIENCE,
        client.call::<_, Raw>("Echo", "Echo", &Raw::from(vec![1])),
    )
    .await
    .expect("the call fails in time");
    assert!(e.is_err());
    let s = wait_stats(&mut running, |s| s.dropped_checksum > 0).await;
    assert_eq!(s.sessions_active, 0);
}

/// Forwards datagrams between one client and `server`, dropping every `nth` in each direction.
async fn lossy_proxy(server: std::net::SocketAddr, nth: u64) -> std::net::SocketAddr {
    use std::sync::Arc;
    use tokio::net::UdpSocket;
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    back.connect(server).await.unwrap();
    let addr = front.local_addr().unwrap();
    let (f, b) = (front.clone(), back.clone());
    let (client_tx, mut client_rx) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        let mut n = 0u64;
        while let Ok((len, from)) = f.recv_from(&mut buf).await {
            client_tx.send_replace(Some(from));
            n += 1;
            if n % nth != 0 {
                let _ = b.send(&buf[..len]).await;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        let mut n = 0u64;
        let to = loop {
            if let Some(to) = *client_rx.borrow_and_update() {
                break to;
            }
            if client_rx.changed().await.is_err() {
                return;
            }
        };
        while let Ok(len) = back.recv(&mut buf).await {
            n += 1;
            if n % nth != 0 {
                let _ = front.send_to(&buf[..len], to).await;
            }
        }
    });
    addr
}

/// Every 9th datagram lost both ways: FEC parity rebuilds some, KCP retransmits the rest, and
/// the calls still succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_survives_a_lossy_link() {
    let cfg = KcpConfig::rpcx_example();
    let mut running = serve(cfg.clone()).await;
    let proxy = lossy_proxy(running.addr, 9).await;
    let client = client(proxy, cfg).await;
    let calls = (0..30u32).map(|i| {
        let client = client.clone();
        async move {
            let body: Vec<u8> = (0..(i * 3000)).map(|b| (b ^ i) as u8).collect();
            let r: Raw = client
                .call("Echo", "Echo", &Raw::from(body.clone()))
                .await
                .unwrap();
            assert!(r[..] == body[..], "call {i}");
        }
    });
    tokio::time::timeout(BIG_PATIENCE, futures_join_all(calls))
        .await
        .expect("30 calls over a lossy link");
    let s = wait_stats(&mut running, |s| s.fec_recovered > 0).await;
    assert!(s.fec_parity_in > 0, "{s:?}");
}

/// A thousand calls in flight at once on one KCP session, at kcp-go's default pace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_on_one_session() {
    let cfg = KcpConfig::new(BlockCrypt::rpcx_example());
    let running = serve(cfg.clone()).await;
    let client = client(running.addr, cfg).await;
    let started = Instant::now();
    let calls = (0..1000u32).map(|i| {
        let client = client.clone();
        async move {
            let r: Raw = client
                .call("Echo", "Len", &Raw::from(vec![7u8; i as usize]))
                .await
                .unwrap();
            assert_eq!(&r[..], i.to_string().as_bytes());
        }
    });
    tokio::time::timeout(BIG_PATIENCE, futures_join_all(calls))
        .await
        .expect("1000 concurrent calls");
    eprintln!(
        "1000 concurrent calls over kcp took {:?}",
        started.elapsed()
    );
}
