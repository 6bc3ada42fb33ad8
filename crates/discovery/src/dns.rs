//! DNS discovery: a name resolved periodically into `network@ip:port` keys.

use crate::{Discovery, ServerEntry, ServerList};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Resolves a DNS name every `interval` (rpcx's `NewDNSDiscovery`): each A/AAAA address
/// becomes a server `network@ip:port` with empty metadata.
///
/// Resolution uses the system resolver through [`tokio::net::lookup_host`]. A failed lookup
/// keeps the previous list (a resolver hiccup should not empty the pool); an unchanged result
/// notifies nobody. The background task stops when the last clone is dropped or on
/// [`close`](Discovery::close).
#[derive(Clone, Debug)]
pub struct DnsDiscovery {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: watch::Sender<ServerList>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

impl DnsDiscovery {
    /// Resolves `domain` once, then every `interval` in a background task. `network` is the
    /// key prefix (`tcp`), `port` the servers' port. Must be called inside a tokio runtime.
    pub async fn new(
        domain: impl Into<String>,
        network: impl Into<String>,
        port: u16,
        interval: Duration,
    ) -> DnsDiscovery {
        let domain = domain.into();
        let network = network.into();
        let first = resolve(&domain, &network, port)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(%domain, %err, "dns discovery: first lookup failed");
                Arc::from(Vec::new())
            });
        let inner = Arc::new(Inner {
            tx: watch::Sender::new(first),
            task: std::sync::Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let task = tokio::spawn(refresh_loop(weak, domain, network, port, interval));
        *inner.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        DnsDiscovery { inner }
    }
}

async fn refresh_loop(
    inner: Weak<Inner>,
    domain: String,
    network: String,
    port: u16,
    interval: Duration,
) {
    loop {
        tokio::time::sleep(interval).await;
        let result = resolve(&domain, &network, port).await;
        let Some(inner) = inner.upgrade() else { return };
        match result {
            Ok(list) => {
                inner.tx.send_if_modified(|cur| {
                    let changed = **cur != *list;
                    if changed {
                        *cur = list;
                    }
                    changed
                });
            }
            Err(err) => tracing::warn!(%domain, %err, "dns discovery: lookup failed"),
        }
    }
}

async fn resolve(domain: &str, network: &str, port: u16) -> std::io::Result<ServerList> {
    let mut addrs: Vec<_> = tokio::net::lookup_host((domain, port)).await?.collect();
    addrs.sort();
    addrs.dedup();
    Ok(addrs
        .into_iter()
        .map(|a| ServerEntry::new(format!("{network}@{a}"), ""))
        .collect())
}

impl Discovery for DnsDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.inner.tx.subscribe()
    }

    fn clone_for_service(&self, _service_path: &str) -> Arc<dyn Discovery> {
        Arc::new(self.clone())
    }

    fn close(&self) {
        if let Some(task) = self
            .inner
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_localhost_into_keys() {
        let d = DnsDiscovery::new("127.0.0.1", "tcp", 8972, Duration::from_secs(60)).await;
        let list = d.servers();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].key(), "tcp@127.0.0.1:8972");
        d.close();
        // `localhost` goes through the system resolver (/etc/hosts), never the network.
        let d = DnsDiscovery::new("localhost", "tcp", 1234, Duration::from_secs(60)).await;
        assert!(
            d.servers()
                .iter()
                .all(|e| e.key().starts_with("tcp@") && e.key().ends_with(":1234"))
        );
    }
}
