//! [`MemoryRegistry`]: a registry inside the process, for tests and single-binary deployments.

use crate::{BoxFuture, Discovery, Registrar, RegistryError, ServerEntry, ServerList};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// A registry held in memory: its [`Registrar`] side and the [`Discovery`] of each service
/// share one table, so a server registered through it is found by clients of the same
/// process at once. Clones share the table.
#[derive(Clone, Default)]
pub struct MemoryRegistry {
    inner: Arc<Mutex<Table>>,
}

#[derive(Default)]
struct Table {
    /// service -> server key -> metadata.
    entries: BTreeMap<String, BTreeMap<String, String>>,
    watchers: HashMap<String, watch::Sender<ServerList>>,
}

impl Table {
    fn list(&self, service: &str) -> ServerList {
        self.entries
            .get(service)
            .map(|servers| {
                servers
                    .iter()
                    .map(|(k, m)| ServerEntry::new(k.as_str(), m.as_str()))
                    .collect()
            })
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    fn publish(&self, service: &str) {
        if let Some(tx) = self.watchers.get(service) {
            tx.send_replace(self.list(service));
        }
    }
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> MemoryRegistry {
        MemoryRegistry::default()
    }

    /// The discovery of `service`: every server registered for it, kept up to date.
    pub fn discovery(&self, service: &str) -> MemoryDiscovery {
        let mut table = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let list = table.list(service);
        let rx = table
            .watchers
            .entry(service.to_owned())
            .or_insert_with(|| watch::Sender::new(list))
            .subscribe();
        MemoryDiscovery {
            registry: self.clone(),
            rx,
        }
    }

    fn with_table<T>(&self, f: impl FnOnce(&mut Table) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl std::fmt::Debug for MemoryRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with_table(|t| f.debug_map().entries(t.entries.iter()).finish())
    }
}

impl Registrar for MemoryRegistry {
    fn register<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        self.with_table(|t| {
            t.entries
                .entry(service.to_owned())
                .or_default()
                .insert(server_key.to_owned(), metadata.to_owned());
            t.publish(service);
        });
        Box::pin(async { Ok(()) })
    }

    fn unregister<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        self.with_table(|t| {
            if let Some(servers) = t.entries.get_mut(service) {
                servers.remove(server_key);
            }
            t.publish(service);
        });
        Box::pin(async { Ok(()) })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        self.with_table(|t| {
            t.entries.clear();
            let services: Vec<String> = t.watchers.keys().cloned().collect();
            for s in services {
                t.publish(&s);
            }
        });
        Box::pin(async { Ok(()) })
    }

    fn update_metadata<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        let found = self.with_table(|t| {
            let slot = t.entries.get_mut(service)?.get_mut(server_key)?;
            metadata.clone_into(slot);
            t.publish(service);
            Some(())
        });
        let result =
            found.ok_or_else(|| RegistryError::NotFound(format!("{service}/{server_key}")));
        Box::pin(async move { result })
    }

    fn services(&self) -> BoxFuture<'_, Result<Vec<String>, RegistryError>> {
        let names = self.with_table(|t| {
            t.entries
                .iter()
                .filter(|(_, servers)| !servers.is_empty())
                .map(|(s, _)| s.clone())
                .collect()
        });
        Box::pin(async move { Ok(names) })
    }
}

/// The discovery of one service of a [`MemoryRegistry`].
#[derive(Clone, Debug)]
pub struct MemoryDiscovery {
    registry: MemoryRegistry,
    rx: watch::Receiver<ServerList>,
}

impl Discovery for MemoryDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.rx.clone()
    }

    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery> {
        Arc::new(self.registry.discovery(service_path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn registered_servers_are_discovered() {
        let reg = MemoryRegistry::new();
        let d = reg.discovery("Arith");
        let mut rx = d.watch();
        assert!(d.servers().is_empty());
        reg.register("tcp@a:1", "Arith", "weight=2").await.unwrap();
        reg.register("tcp@b:1", "Echo", "").await.unwrap();
        rx.changed().await.unwrap();
        assert_eq!(d.servers().len(), 1);
        assert_eq!(d.servers()[0].weight(), 2);
        assert_eq!(d.clone_for_service("Echo").servers()[0].key(), "tcp@b:1");
        assert_eq!(reg.services().await.unwrap(), ["Arith", "Echo"]);
        reg.unregister("tcp@a:1", "Arith").await.unwrap();
        rx.changed().await.unwrap();
        assert!(d.servers().is_empty());
    }

    #[tokio::test]
    async fn metadata_is_rewritten_in_place_only_for_existing_entries() {
        let reg = MemoryRegistry::new();
        let d = reg.discovery("Arith");
        let mut rx = d.watch();
        reg.register("tcp@a:1", "Arith", "weight=2").await.unwrap();
        rx.changed().await.unwrap();
        reg.update_metadata("tcp@a:1", "Arith", "state=inactive&weight=2")
            .await
            .unwrap();
        rx.changed().await.unwrap();
        assert!(d.servers()[0].is_inactive());
        let missing = reg.update_metadata("tcp@z:9", "Arith", "weight=1").await;
        assert!(matches!(missing, Err(RegistryError::NotFound(_))));
        assert_eq!(d.servers().len(), 1);
    }
}
