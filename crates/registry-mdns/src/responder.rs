//! The mDNS responder: answers browses of the published instances' types, questions about
//! an instance or its host, and the DNS-SD type enumeration, as grandcat/zeroconf's
//! responder does; announces each instance twice, one second apart, when it is published
//! (RFC 6762 §8.3) and sends a goodbye (TTL 0) when it is withdrawn.

use crate::socket::{Link, PORT, recv_buffer};
use crate::wire::{
    Asked, Instance, SERVICES_ENUMERATION, WireError, announcement, browse_answer, canonical,
    enumeration_answer, legacy_reply, parse_query,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// DNS record types a question may ask for.
const TYPE_A: u16 = 1;
const TYPE_PTR: u16 = 12;
const TYPE_ANY: u16 = 255;

/// The least time between two multicasts of the same answer (RFC 6762 §6 asks one second
/// per record; a shorter gap keeps browses that start close together fast).
const MULTICAST_GAP: Duration = Duration::from_millis(250);

/// The gap between the two announcements of a newly published instance.
const ANNOUNCE_GAP: Duration = Duration::from_secs(1);

/// A running responder (one socket, one task). Dropping it stops answering at once,
/// without goodbyes, as a killed process would.
#[derive(Debug)]
pub(crate) struct Responder {
    shared: Arc<Shared>,
    runtime: Handle,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    link: Link,
    /// canonical instance name -> instance.
    instances: Mutex<BTreeMap<String, Instance>>,
    /// Answers multicast within the last [`MULTICAST_GAP`].
    recent: Recent,
    closed: AtomicBool,
}

impl Shared {
    fn instances(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Instance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The messages answering `q`, one per instance (as Go sends one per question).
    fn answers(&self, q: &Asked) -> Vec<Result<Vec<u8>, WireError>> {
        let instances = self.instances();
        let any_or = |t: u16| q.qtype == t || q.qtype == TYPE_ANY;
        if q.name == canonical(SERVICES_ENUMERATION) && any_or(TYPE_PTR) {
            let types: BTreeSet<&str> = instances
                .values()
                .map(|i| i.service_type.as_str())
                .collect();
            return types.into_iter().map(enumeration_answer).collect();
        }
        let mut out = Vec::new();
        for inst in instances.values() {
            if q.name == canonical(&inst.service_type) && any_or(TYPE_PTR) {
                out.push(browse_answer(inst));
            } else if q.name == canonical(&inst.name)
                || (q.name == canonical(&inst.host) && any_or(TYPE_A))
            {
                out.push(announcement(inst, false));
            }
        }
        out
    }

    async fn multicast(&self, bytes: &[u8]) {
        if let Err(e) = self.link.multicast(bytes).await {
            tracing::debug!(error = %e, "mDNS send failed");
        }
    }
}

/// The answers multicast within the last [`MULTICAST_GAP`], with when.
#[derive(Debug, Default)]
struct Recent(Mutex<HashMap<Vec<u8>, Instant>>);

impl Recent {
    /// False when the same answer was multicast less than [`MULTICAST_GAP`] before `now`
    /// (every listener heard it then): a peer flooding queries gets at most one multicast
    /// answer per gap and instance, whatever its query rate. The map holds only answers of
    /// the last gap, so at most a few per published instance.
    fn admit(&self, bytes: &[u8], now: Instant) -> bool {
        let mut recent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        recent.retain(|_, at| now.saturating_duration_since(*at) < MULTICAST_GAP);
        if recent.contains_key(bytes) {
            return false;
        }
        recent.insert(bytes.to_vec(), now);
        true
    }
}

impl Responder {
    /// Opens the multicast socket and starts answering (inside a Tokio runtime).
    pub(crate) fn start(loopback: bool) -> io::Result<Responder> {
        let runtime = Handle::try_current().map_err(|e| {
            io::Error::other(format!("the mDNS responder needs a Tokio runtime: {e}"))
        })?;
        let _guard = runtime.enter();
        let shared = Arc::new(Shared {
            link: Link::open(loopback)?,
            instances: Mutex::new(BTreeMap::new()),
            recent: Recent::default(),
            closed: AtomicBool::new(false),
        });
        let task = runtime.spawn(serve(shared.clone()));
        Ok(Responder {
            shared,
            runtime,
            task,
        })
    }

    /// Publishes (or replaces) `inst` and announces it now and once more a second later.
    pub(crate) fn publish(&self, inst: Instance) {
        let key = canonical(&inst.name);
        let changed =
            self.shared.instances().insert(key.clone(), inst.clone()) != Some(inst.clone());
        if !changed {
            return;
        }
        let shared = self.shared.clone();
        self.runtime.spawn(async move {
            for round in 0..2 {
                if round > 0 {
                    tokio::time::sleep(ANNOUNCE_GAP).await;
                }
                // Announce only what is still published, unchanged, by a live responder.
                let current = shared.instances().get(&key).cloned();
                if shared.closed.load(Ordering::Relaxed) || current.as_ref() != Some(&inst) {
                    return;
                }
                match announcement(&inst, false) {
                    Ok(bytes) => shared.multicast(&bytes).await,
                    Err(e) => tracing::debug!(error = %e, "mDNS announcement not encodable"),
                }
            }
        });
    }

    /// Stops answering for the instance `name` and sends its goodbye (the future completes
    /// once it is sent; nothing is sent for a name not published).
    pub(crate) fn withdraw(&self, name: &str) -> impl Future<Output = ()> + Send + 'static {
        let gone = self.shared.instances().remove(&canonical(name));
        let shared = self.shared.clone();
        async move {
            let Some(inst) = gone else { return };
            match announcement(&inst, true) {
                Ok(bytes) => shared.multicast(&bytes).await,
                Err(e) => tracing::debug!(error = %e, "mDNS goodbye not encodable"),
            }
        }
    }

    /// The full names of the published instances.
    pub(crate) fn published(&self) -> Vec<String> {
        self.shared
            .instances()
            .values()
            .map(|i| i.name.clone())
            .collect()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

/// Answers queries until aborted. Bad packets are dropped with a debug line.
async fn serve(shared: Arc<Shared>) {
    let mut buf = recv_buffer();
    loop {
        let (packet, from) = match shared.link.recv(&mut buf).await {
            Ok(Some(got)) => got,
            Ok(None) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "mDNS receive failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let questions = match parse_query(packet) {
            Ok(q) => q,
            Err(e) => {
                tracing::debug!(%from, error = %e, "mDNS packet dropped");
                continue;
            }
        };
        let query = packet.to_vec();
        for q in questions {
            for answer in shared.answers(&q) {
                match answer {
                    Ok(bytes) => reply(&shared, &query, &q, from, bytes).await,
                    Err(e) => tracing::debug!(error = %e, "mDNS answer not encodable"),
                }
            }
        }
    }
}

/// Unicast when the question asks for it (QU bit) or comes from a port other than 5353 (a
/// one-shot querier, answered as plain DNS: RFC 6762 §6.7); multicast otherwise.
async fn reply(shared: &Shared, query: &[u8], q: &Asked, from: SocketAddr, mut bytes: Vec<u8>) {
    if from.port() != PORT {
        bytes = match legacy_reply(&bytes, query, q) {
            Ok(b) => b,
            Err(e) => return tracing::debug!(error = %e, "mDNS legacy answer not encodable"),
        };
    }
    if q.unicast || from.port() != PORT {
        if let Err(e) = shared.link.unicast(&bytes, from).await {
            tracing::debug!(%from, error = %e, "mDNS unicast answer failed");
        }
    } else if shared.recent.admit(&bytes, Instant::now()) {
        shared.multicast(&bytes).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_answer_is_multicast_at_most_once_per_gap() {
        let recent = Recent::default();
        let t0 = Instant::now();
        assert!(recent.admit(b"a", t0));
        assert!(!recent.admit(b"a", t0 + MULTICAST_GAP / 2));
        assert!(recent.admit(b"b", t0 + MULTICAST_GAP / 2));
        assert!(recent.admit(b"a", t0 + MULTICAST_GAP));
        // Only the answers of the last gap are kept.
        assert!(recent.admit(b"c", t0 + MULTICAST_GAP * 3));
        assert_eq!(recent.0.lock().unwrap().len(), 1);
    }
}
