//! The usable server list, the selector and the breakers: who may take the next call.

use crate::breaker::{BreakerPolicy, CircuitBreaker};
use crate::discovery::{ServerEntry, ServerList};
use crate::plugin::Plugins;
use crate::selector::{SelectRequest, Selector};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

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

/// A server chosen for one attempt, holding its breaker claim until the outcome is known.
pub(crate) struct Picked {
    pub(crate) entry: ServerEntry,
    breaker: Option<Arc<CircuitBreaker>>,
    settled: bool,
}

impl Picked {
    /// Records the outcome of the attempt on the server's breaker.
    pub(crate) fn settle(mut self, outcome: Option<ErrorClass>) {
        self.settled = true;
        let Some(b) = &self.breaker else { return };
        match outcome {
            None | Some(ErrorClass::Service) => b.record_success(),
            Some(ErrorClass::Retryable | ErrorClass::Deadline) => b.record_failure(),
            Some(ErrorClass::Local) => b.release(),
        }
    }
}

impl Drop for Picked {
    fn drop(&mut self) {
        // An attempt abandoned mid-flight (the caller went away, a backup request lost the
        // race) says nothing about the server; give a half-open probe back.
        if !self.settled {
            if let Some(b) = &self.breaker {
                b.release();
            }
        }
    }
}

/// The live routing state of one XClient.
pub(crate) struct Router {
    servers: RwLock<ServerList>,
    selector: RwLock<Arc<dyn Selector>>,
    breaker_policy: Option<BreakerPolicy>,
    breakers: Mutex<HashMap<String, Arc<CircuitBreaker>>>,
    plugins: Plugins,
}

impl Router {
    pub(crate) fn new(
        selector: Arc<dyn Selector>,
        breaker_policy: Option<BreakerPolicy>,
        plugins: Plugins,
    ) -> Router {
        Router {
            servers: RwLock::new(Arc::from(Vec::new())),
            selector: RwLock::new(selector),
            breaker_policy,
            breakers: Mutex::new(HashMap::new()),
            plugins,
        }
    }

    /// Installs a new (already filtered) list.
    pub(crate) fn set_servers(&self, list: ServerList) {
        self.selector().update_servers(&list);
        self.breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| list.iter().any(|s| s.key() == k));
        *self.servers.write().unwrap_or_else(|p| p.into_inner()) = list;
    }

    /// The current (filtered) list.
    pub(crate) fn servers(&self) -> ServerList {
        self.servers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn selector(&self) -> Arc<dyn Selector> {
        self.selector
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_selector(&self, selector: Arc<dyn Selector>) {
        selector.update_servers(&self.servers());
        *self.selector.write().unwrap_or_else(|p| p.into_inner()) = selector;
    }

    /// The breaker of `key`, if breakers are on.
    pub(crate) fn breaker(&self, key: &str) -> Option<Arc<CircuitBreaker>> {
        let policy = self.breaker_policy?;
        let mut breakers = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            breakers
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(CircuitBreaker::new(policy)))
                .clone(),
        )
    }

    fn ready(&self, key: &str) -> bool {
        self.breaker(key).is_none_or(|b| b.is_ready())
    }

    /// Selects a server for `req` among the servers whose breaker lets calls through,
    /// avoiding the keys in `avoid` while any other server is usable.
    pub(crate) fn pick(&self, req: &SelectRequest<'_>, avoid: &[String]) -> Pick {
        let all = self.servers();
        if all.is_empty() {
            return Pick::NoServer;
        }
        let mut usable: Vec<ServerEntry> = all
            .iter()
            .filter(|s| self.ready(s.key()))
            .cloned()
            .collect();
        if usable.is_empty() {
            return Pick::AllBreakersOpen;
        }
        if usable.iter().any(|s| !avoid.iter().any(|a| a == s.key())) {
            usable.retain(|s| !avoid.iter().any(|a| a == s.key()));
        }
        let selector = self.selector();
        while !usable.is_empty() {
            let chosen = self
                .plugins
                .wrap_select(req, &usable, selector.select(req, &usable));
            let Some(chosen) = chosen else { break };
            let key = chosen.key().to_owned();
            match self.claim(chosen.clone()) {
                Some(p) => return Pick::Server(p),
                // Lost a race for a half-open probe: choose again without it.
                None => usable.retain(|s| s.key() != key),
            }
        }
        Pick::AllBreakersOpen
    }

    /// Claims `entry` for one attempt, if its breaker allows.
    pub(crate) fn claim(&self, entry: ServerEntry) -> Option<Picked> {
        let breaker = self.breaker(entry.key());
        if let Some(b) = &breaker {
            if !b.try_acquire() {
                return None;
            }
        }
        Some(Picked {
            entry,
            breaker,
            settled: false,
        })
    }

    /// Claims every usable server (fork, broadcast, inform).
    pub(crate) fn claim_all(&self) -> Result<Vec<Picked>, Pick> {
        let all = self.servers();
        if all.is_empty() {
            return Err(Pick::NoServer);
        }
        let picked: Vec<Picked> = all.iter().filter_map(|s| self.claim(s.clone())).collect();
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
