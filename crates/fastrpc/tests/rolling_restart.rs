//! A rolling restart loses no call: two servers, each shut down gracefully and started again
//! on its address in turn, while an XClient with Failover keeps calling.

mod budget_support;

use budget_support::eventually;
use fastrpc::server::ServerHandle;
use fastrpc::xclient::{MultipleServersDiscovery, ServerEntry};
use fastrpc::{Context, FailMode, SelectMode, Server, ServiceError, XClient, XClientOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

async fn start(addr: SocketAddr, calls: Arc<AtomicUsize>) -> ServerHandle {
    let server = Server::builder()
        .handler("Echo", "Twice", move |_c: Context, n: u64| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                // Long enough for calls to be in flight when a shutdown starts.
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok::<_, ServiceError>(n * 2)
            }
        })
        .build();
    // The port was just released by the previous server; the listener reuses the address.
    let mut tries = 0;
    loop {
        match server.serve_tcp(addr).await {
            Ok(h) => return h,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("cannot bind {addr} again: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_under_failover_loses_no_call() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..2 {
        handles.push(start("127.0.0.1:0".parse().unwrap(), calls.clone()).await);
    }
    let addrs: Vec<SocketAddr> = handles.iter().map(|h| h.socket_addr().unwrap()).collect();
    let d = MultipleServersDiscovery::new(
        addrs
            .iter()
            .map(|a| ServerEntry::new(format!("tcp@{a}"), "")),
    );
    let opts = XClientOptions::default()
        .retries(10)
        .connect_timeout(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50));
    let xc = XClient::new(
        "Echo",
        FailMode::Failover,
        SelectMode::RoundRobin,
        Arc::new(d),
        opts,
    )
    .unwrap();

    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (xc, done, stop) = (xc.clone(), done.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let n = w * 1_000_000 + i;
                    let r: u64 = xc
                        .call("Twice", &n)
                        .await
                        .unwrap_or_else(|e| panic!("call {n} failed: {e}"));
                    assert_eq!(r, 2 * n);
                    done.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                }
            })
        })
        .collect();

    for (i, addr) in addrs.iter().enumerate() {
        let before = done.load(Ordering::SeqCst);
        eventually(Duration::from_secs(30), "calls flowing", || {
            done.load(Ordering::SeqCst) >= before + 200
        })
        .await;
        let old = handles.remove(i);
        let report = old.shutdown_report(Duration::from_secs(10)).await;
        assert!(report.is_complete(), "server {i}: {report:?}");
        handles.insert(i, start(*addr, calls.clone()).await);
        let after = done.load(Ordering::SeqCst);
        eventually(
            Duration::from_secs(30),
            "calls flowing after the restart",
            || done.load(Ordering::SeqCst) >= after + 200,
        )
        .await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.expect("no call failed");
    }
    assert!(done.load(Ordering::SeqCst) >= 800);
}
