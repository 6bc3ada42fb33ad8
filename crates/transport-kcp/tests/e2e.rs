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
