//! The usable server list, the selector and the breakers: who may take the next call.
//!
//! Everything a call needs to choose a server lives in one immutable [`Snapshot`], rebuilt
//! once per discovery update (keys, positions, breakers, connection slots) and swapped in
//! atomically. A call loads it without a lock, lets the selector choose on the shared list
//! itself (no copy), and claims the chosen server's breaker. Only when that server cannot be
//! used (its breaker is open, or this call already failed there) is the selector asked again
//! on a list of the usable servers, which costs a copy.

use crate::breaker::{BreakerPolicy, CircuitBreaker};
use crate::connections::Slot;
use crate::discovery::{ServerEntry, ServerList};
use crate::plugin::Plugins;
use crate::selector::{SelectRequest, Selector};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How a failed attempt is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// The connection or server failed (connect error, broken connection): retry elsewhere,
    /// count against the breaker, drop the connection.
    Retryable,
    /// The caller's deadline passed: no retry; counts against the breaker (the server did
    /// not answer in time).
    Deadline,
    /// The server answered with an error: no retry; the server is healthy.
    Service,
    /// A local error (encoding, a plugin's refusal): no retry, no verdict on the server.
    Local,
}

/// Errors the fail-mode engine can judge.
pub(crate) trait Classify {
    fn class(&self) -> ErrorClass;
}

/// Everything selection needs, computed once per discovery update.
pub(crate) struct Snapshot {
    list: ServerList,
    keys: Box<[Arc<str>]>,
    index: HashMap<Arc<str>, usize>,
    breakers: Box<[Option<Arc<CircuitBreaker>>]>,
    slots: Box<[Arc<Slot>]>,
    selector: Arc<dyn Selector>,
    needs_args: bool,
}

impl Snapshot {
    /// The position of `entry` in the list: by address when the selector returned an
    /// element of the shared list, by key otherwise.
    fn position_of(&self, entry: &ServerEntry) -> Option<usize> {
        let base = self.list.as_ptr() as usize;
        let at = entry as *const ServerEntry as usize;
        let size = std::mem::size_of::<ServerEntry>();
        if at >= base && at < base + self.list.len() * size && (at - base) % size == 0 {
            return Some((at - base) / size);
        }
        self.index.get(entry.key()).copied()
    }

    fn ready(&self, pos: usize) -> bool {
        self.breakers[pos].as_ref().is_none_or(|b| b.is_ready())
    }

    fn claim(self: &Arc<Self>, pos: usize) -> Option<Picked> {
        self.try_acquire(pos)
            .then(|| Picked::new(self.clone(), pos))
    }

    /// Claims `pos`'s breaker (always granted without breakers).
    fn try_acquire(&self, pos: usize) -> bool {
        self.breakers[pos].as_ref().is_none_or(|b| b.try_acquire())
    }
}

/// The server of one attempt: its key and its connection slot.
#[derive(Clone)]
pub(crate) struct Target {
    snap: Arc<Snapshot>,
    pos: usize,
}

impl Target {
    /// The server key.
    pub(crate) fn key(&self) -> &str {
        &self.snap.keys[self.pos]
    }

    /// The server key, shared.
    pub(crate) fn shared_key(&self) -> &Arc<str> {
        &self.snap.keys[self.pos]
    }

    /// The server's connection slot.
    pub(crate) fn slot(&self) -> &Slot {
        &self.snap.slots[self.pos]
    }

    fn breaker(&self) -> Option<&Arc<CircuitBreaker>> {
        self.snap.breakers[self.pos].as_ref()
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// A server chosen for one attempt, holding its breaker claim until the outcome is known.
pub(crate) struct Picked {
    pub(crate) target: Target,
    settled: bool,
}

impl Picked {
    fn new(snap: Arc<Snapshot>, pos: usize) -> Picked {
        Picked {
            target: Target { snap, pos },
            settled: false,
        }
    }

    /// Records the outcome of the attempt on the server's breaker.
    pub(crate) fn settle(mut self, outcome: Option<ErrorClass>) {
        self.settled = true;
        let Some(b) = self.target.breaker() else {
            return;
        };
        match outcome {
            None | Some(ErrorClass::Service) => b.record_success(),
            Some(ErrorClass::Deadline) => b.record_failure(),
            Some(ErrorClass::Retryable) if b.policy().counts_connection_failures() => {
                b.record_failure()
            }
            Some(ErrorClass::Retryable | ErrorClass::Local) => b.release(),
        }
    }
}

impl Drop for Picked {
    fn drop(&mut self) {
        // An attempt abandoned mid-flight (the caller went away, a backup request lost the
        // race) says nothing about the server; give a half-open probe back.
        if !self.settled {
            if let Some(b) = self.target.breaker() {
                b.release();
            }
        }
    }
}

/// The live routing state of one XClient.
pub(crate) struct Router {
    state: ArcSwap<Snapshot>,
    /// Serializes writers (updates, selector changes); never taken by a call.
    writer: Mutex<()>,
    breaker_policy: Option<BreakerPolicy>,
    plugins: Plugins,
}

impl Router {
    pub(crate) fn new(
        selector: Arc<dyn Selector>,
        breaker_policy: Option<BreakerPolicy>,
        plugins: Plugins,
    ) -> Router {
        let needs_args = selector.needs_args();
        Router {
            state: ArcSwap::from_pointee(Snapshot {
                list: Arc::from(Vec::new()),
                keys: Box::default(),
                index: HashMap::new(),
                breakers: Box::default(),
                slots: Box::default(),
                selector,
                needs_args,
            }),
            writer: Mutex::new(()),
            breaker_policy,
            plugins,
        }
    }

    /// Installs a new (already filtered) list whose connection slots are `slots` (same
    /// order). Breakers of servers that stay are kept. Linear in the list.
    pub(crate) fn set_servers(&self, list: ServerList, slots: Vec<Arc<Slot>>) {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.state.load_full();
        let keys: Box<[Arc<str>]> = list
            .iter()
            .map(|s| match old.index.get_key_value(s.key()) {
                Some((k, _)) => k.clone(),
                None => Arc::from(s.key()),
            })
            .collect();
        let index: HashMap<Arc<str>, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let breakers = keys
            .iter()
            .map(|k| {
                let policy = self.breaker_policy?;
                Some(
                    old.index
                        .get(k)
                        .and_then(|&i| old.breakers[i].clone())
                        .unwrap_or_else(|| Arc::new(CircuitBreaker::new(policy))),
                )
            })
            .collect();
        old.selector.update_servers(&list);
        self.state.store(Arc::new(Snapshot {
            list,
            keys,
            index,
            breakers,
            slots: slots.into_boxed_slice(),
            selector: old.selector.clone(),
            needs_args: old.needs_args,
        }));
    }

    /// The current (filtered) list.
    pub(crate) fn servers(&self) -> ServerList {
        self.state.load().list.clone()
    }

    /// True when the selector reads the encoded arguments.
    pub(crate) fn needs_args(&self) -> bool {
        self.state.load().needs_args
    }

    pub(crate) fn set_selector(&self, selector: Arc<dyn Selector>) {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.state.load_full();
        selector.update_servers(&old.list);
        self.state.store(Arc::new(Snapshot {
            list: old.list.clone(),
            keys: old.keys.clone(),
            index: old.index.clone(),
            breakers: old.breakers.clone(),
            slots: old.slots.clone(),
            needs_args: selector.needs_args(),
            selector,
        }));
    }

    /// The breaker of `key`, if breakers are on and the server is listed.
    pub(crate) fn breaker(&self, key: &str) -> Option<Arc<CircuitBreaker>> {
        let snap = self.state.load();
        let &pos = snap.index.get(key)?;
        snap.breakers[pos].clone()
    }

    /// Selects a server for `req` among the servers whose breaker lets calls through,
    /// avoiding the keys in `avoid` while any other server is usable.
    pub(crate) fn pick(&self, req: &SelectRequest<'_>, avoid: &[Arc<str>]) -> Pick {
        let snap = self.state.load_full();
        if snap.list.is_empty() {
            return Pick::NoServer;
        }
        // The common case: the selector's choice on the whole shared list is usable.
        let chosen =
            self.plugins
                .wrap_select(req, &snap.list, snap.selector.select(req, &snap.list));
        if let Some(pos) = chosen.and_then(|c| snap.position_of(c)) {
            if !avoid.iter().any(|a| **a == *snap.keys[pos]) && snap.try_acquire(pos) {
                // The loaded snapshot itself goes into the claim: one reference count
                // change per call on a counter every caller shares.
                return Pick::Server(Picked::new(snap, pos));
            }
        }
        self.pick_among_usable(&snap, req, avoid)
    }

    /// Selection on a copy of the usable servers: some server cannot be used right now.
    fn pick_among_usable(
        &self,
        snap: &Arc<Snapshot>,
        req: &SelectRequest<'_>,
        avoid: &[Arc<str>],
    ) -> Pick {
        let mut usable: Vec<ServerEntry> = (0..snap.list.len())
            .filter(|&i| snap.ready(i))
            .map(|i| snap.list[i].clone())
            .collect();
        if usable.is_empty() {
            return Pick::AllBreakersOpen;
        }
        let avoided = |s: &ServerEntry| avoid.iter().any(|a| **a == *s.key());
        if usable.iter().any(|s| !avoided(s)) {
            usable.retain(|s| !avoided(s));
        }
        while !usable.is_empty() {
            let chosen = self
                .plugins
                .wrap_select(req, &usable, snap.selector.select(req, &usable));
            let Some(chosen) = chosen else { break };
            let Some(pos) = snap.index.get(chosen.key()).copied() else {
                break;
            };
            match snap.claim(pos) {
                Some(p) => return Pick::Server(p),
                // Lost a race for a half-open probe: choose again without it.
                None => usable.retain(|s| *s.key() != *snap.keys[pos]),
            }
        }
        Pick::AllBreakersOpen
    }

    /// Claims the server `key` again (Failtry), if it is still listed and its breaker allows.
    /// `Err(true)` when it is listed but its breaker refuses, `Err(false)` when it is gone.
    pub(crate) fn claim_key(&self, key: &str) -> Result<Picked, bool> {
        let snap = self.state.load_full();
        let &pos = snap.index.get(key).ok_or(false)?;
        snap.claim(pos).ok_or(true)
    }

    /// Claims every usable server (fork, broadcast, inform).
    pub(crate) fn claim_all(&self) -> Result<Vec<Picked>, Pick> {
        let snap = self.state.load_full();
        if snap.list.is_empty() {
            return Err(Pick::NoServer);
        }
        let picked: Vec<Picked> = (0..snap.list.len()).filter_map(|i| snap.claim(i)).collect();
        if picked.is_empty() {
            return Err(Pick::AllBreakersOpen);
        }
        Ok(picked)
    }
}

/// The result of a selection.
pub(crate) enum Pick {
    /// A server, claimed.
    Server(Picked),
    /// Discovery lists no usable server.
    NoServer,
    /// Servers exist but every breaker is open.
    AllBreakersOpen,
}
