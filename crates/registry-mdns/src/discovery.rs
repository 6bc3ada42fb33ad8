//! [`MdnsDiscovery`]: the servers of one service, found by periodic mDNS browsing.

use crate::MdnsOptions;
use crate::layout::{ServiceMeta, parse_txt};
use fastrpc_discovery::{Discovery, RegistryError, ServerEntry, ServerList};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The client side of the mDNS registry (rpcx's `MDNSDiscovery`).
///
/// Every `interval` it browses `_rpcxservices.local.` (Go's type) for `timeout` with a fresh
/// resolver (as Go does, so a server that stopped answering is not kept from a cache),
/// decodes each instance's first TXT string and keeps the entries **of its own service**
/// (Go's discovery keeps every service of every host; filtering here makes it usable with
/// the XClient). A server is dropped only when two browses in a row miss it, so one lost or
/// late multicast answer never removes a server (nor empties the list).
#[derive(Clone)]
pub struct MdnsDiscovery {
    inner: Arc<Inner>,
    rx: watch::Receiver<ServerList>,
}

struct Inner {
    opts: MdnsOptions,
    service: String,
    runtime: Handle,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One browse: every rpcx service advertised on the link, by instance (instances whose
/// first TXT string is not rpcx's layout are skipped).
pub async fn browse(opts: &MdnsOptions) -> Result<Vec<ServiceMeta>, RegistryError> {
    let found = crate::browser::browse(&opts.service_type(), opts.loopback, opts.timeout)
        .await
        .map_err(|e| RegistryError::Unavailable(format!("mDNS browse: {e}")))?;
    let mut out = Vec::new();
    for f in found {
        let Some(first) = f.txt.as_ref().and_then(|t| t.first()) else {
            continue;
        };
        match parse_txt(first) {
            Some(list) => out.extend(list),
            None => tracing::debug!(instance = %f.name, "TXT is not rpcx's layout"),
        }
    }
    Ok(out)
}

fn entries_of(all: Vec<ServiceMeta>, service: &str) -> Vec<ServerEntry> {
    let mut out: Vec<ServerEntry> = all
        .into_iter()
        .filter(|s| s.service == service && !s.service_address.is_empty())
        .map(|s| ServerEntry::new(s.service_address, s.meta))
        .collect();
    out.sort_by(|a, b| a.key().cmp(b.key()));
    out.dedup_by(|a, b| a.key() == b.key());
    out
}

impl MdnsDiscovery {
    /// Browses once, then keeps browsing every `interval` in the background.
    pub async fn connect(opts: MdnsOptions, service: &str) -> Result<MdnsDiscovery, RegistryError> {
        opts.validate()
            .map_err(|reason| RegistryError::InvalidUrl {
                url: "mdns://".into(),
                reason,
            })?;
        let first = entries_of(browse(&opts).await?, service);
        Ok(MdnsDiscovery::spawn(opts, service, first))
    }

    fn spawn(opts: MdnsOptions, service: &str, first: Vec<ServerEntry>) -> MdnsDiscovery {
        let (tx, rx) = watch::channel(ServerList::from(first));
        let task = tokio::spawn(run(opts.clone(), service.to_owned(), tx));
        MdnsDiscovery {
            inner: Arc::new(Inner {
                opts,
                service: service.to_owned(),
                runtime: Handle::current(),
                task,
            }),
            rx,
        }
    }

    /// The service this discovery lists.
    pub fn service(&self) -> &str {
        &self.inner.service
    }
}

/// How many browses in a row may miss a server before it is dropped: one multicast answer
/// can be lost (or delayed past the browse timeout) without the server being gone.
const MISSES_TO_DROP: u32 = 2;

async fn run(opts: MdnsOptions, service: String, tx: watch::Sender<ServerList>) {
    // server key -> (entry, browses in a row that missed it)
    let mut known: BTreeMap<String, (ServerEntry, u32)> = tx
        .borrow()
        .iter()
        .map(|e| (e.key().to_owned(), (e.clone(), 0)))
        .collect();
    loop {
        tokio::time::sleep(opts.interval).await;
        let found = match browse(&opts).await {
            Ok(all) => entries_of(all, &service),
            Err(e) => {
                tracing::debug!(error = %e, "mDNS browse failed; keeping the last list");
                continue;
            }
        };
        for (_, misses) in known.values_mut() {
            *misses += 1;
        }
        for e in found {
            known.insert(e.key().to_owned(), (e, 0));
        }
        known.retain(|_, (_, misses)| *misses < MISSES_TO_DROP);
        let list: Vec<ServerEntry> = known.values().map(|(e, _)| e.clone()).collect();
        if **tx.borrow() != *list {
            tx.send_replace(list.into());
        }
    }
}

impl std::fmt::Debug for MdnsDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdnsDiscovery")
            .field("service", &self.inner.service)
            .field("servers", &*self.rx.borrow())
            .finish()
    }
}

impl Discovery for MdnsDiscovery {
    fn watch(&self) -> watch::Receiver<ServerList> {
        self.rx.clone()
    }

    fn clone_for_service(&self, service_path: &str) -> Arc<dyn Discovery> {
        let _guard = self.inner.runtime.enter();
        Arc::new(MdnsDiscovery::spawn(
            self.inner.opts.clone(),
            service_path,
            Vec::new(),
        ))
    }

    fn close(&self) {
        self.inner.task.abort();
    }
}
