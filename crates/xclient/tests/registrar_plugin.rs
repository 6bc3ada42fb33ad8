//! A server publishes its services through `RegistrarPlugin`; an XClient finds it through the
//! registry's discovery; graceful shutdown removes the entry before connections drain.
//! Uses the in-process `MemoryRegistry`, so the plugin's ordering is tested without a
//! registry server (the registry crates test their own backends against real servers).

use fastrpc_discovery::{Discovery, MemoryRegistry};
use fastrpc_server::{Context, RegistrarPlugin, Server, ServiceError};
use fastrpc_xclient::{FailMode, SelectMode, XClient, XClientOptions};
use std::sync::Arc;
use std::time::Duration;

async fn start(registry: &MemoryRegistry, name: &'static str) -> fastrpc_server::ServerHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    Server::builder()
        .plugin(RegistrarPlugin::new(registry.clone(), key))
        .handler("Who", "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .service_metadata("Who", "weight=1&group=test")
        .build()
        .serve_listener(listener)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_server_is_found_and_removed_on_shutdown() {
    let registry = MemoryRegistry::new();
    let discovery = registry.discovery("Who");
    let mut rx = discovery.watch();
    let a = start(&registry, "a").await;
    rx.wait_for(|l| l.len() == 1).await.unwrap();
    let entry = discovery.servers()[0].clone();
    assert_eq!(entry.key(), format!("tcp@{}", a.local_addr()));
    assert_eq!(entry.raw_metadata(), "weight=1&group=test");

    let xc = XClient::new(
        "Who",
        FailMode::Failover,
        SelectMode::RoundRobin,
        Arc::new(discovery.clone()),
        XClientOptions::default(),
    )
    .unwrap();
    let who: String = xc.call("Am", &0u32).await.unwrap();
    assert_eq!(who, "a");

    // A second server appears and takes calls without a client restart.
    let b = start(&registry, "b").await;
    rx.wait_for(|l| l.len() == 2).await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        seen.insert(xc.call::<_, String>("Am", &0u32).await.unwrap());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a", "b"]);

    // Graceful shutdown: the entry is gone by the time shutdown returns.
    let a_key = format!("tcp@{}", a.local_addr());
    a.shutdown(Duration::from_secs(5)).await;
    assert!(discovery.servers().iter().all(|e| e.key() != a_key));
    for _ in 0..20 {
        assert_eq!(xc.call::<_, String>("Am", &0u32).await.unwrap(), "b");
    }
    b.shutdown(Duration::from_secs(5)).await;
    assert!(discovery.servers().is_empty());
}

/// The number after `key=` in a metadata query string.
fn rate(meta: &str, key: &str) -> Option<f64> {
    meta.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_rates_adds_calls_and_connections_and_stops_at_shutdown() {
    let registry = MemoryRegistry::new();
    let discovery = registry.discovery("Who");
    let mut rx = discovery.watch();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    let srv = Server::builder()
        .plugin(
            RegistrarPlugin::new(registry.clone(), key.clone())
                .report_rates(Duration::from_millis(50)),
        )
        .handler("Who", "Am", |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>("a".to_owned())
        })
        .service_metadata("Who", "weight=1")
        .build()
        .serve_listener(listener)
        .unwrap();
    let client = fastrpc_xclient::Client::connect(&key).await.unwrap();
    for _ in 0..20 {
        let _: String = client.call("Who", "Am", &0u32).await.unwrap();
    }
    // A later tick publishes both rates, with two decimals, after the service's own metadata.
    let meta = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            rx.changed().await.unwrap();
            let list = discovery.servers();
            if let Some(e) = list.first() {
                let m = e.raw_metadata().to_owned();
                if rate(&m, "calls").is_some_and(|c| c > 0.0) {
                    return m;
                }
            }
        }
    })
    .await
    .expect("rates published");
    assert!(meta.starts_with("weight=1&calls="), "{meta}");
    assert!(
        rate(&meta, "connections").is_some_and(|c| c > 0.0),
        "{meta}"
    );
    let calls = meta.split('&').find(|kv| kv.starts_with("calls=")).unwrap();
    assert_eq!(calls.split('.').nth(1).map(str::len), Some(2), "{meta}");

    // Shutdown removes the entry, and no later tick brings it back.
    client.close();
    srv.shutdown(Duration::from_secs(5)).await;
    assert!(discovery.servers().is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        discovery.servers().is_empty(),
        "a tick re-published after shutdown"
    );
}
