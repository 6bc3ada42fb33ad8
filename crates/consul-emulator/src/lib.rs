//! A stateful **emulator** of the few Consul HTTP endpoints fastrpc's Consul registry uses,
//! for tests. It is **not Consul**: Consul's agent cannot be installed on the project's
//! machines (it is not in Debian and no reachable registry ships it), so the registry is
//! tested against this emulator instead, built from the shapes Consul's HTTP API documents.
//!
//! # What it emulates
//!
//! * KV (`/v1/kv/:key`): `GET` with `?recurse` and blocking queries (`?index=&wait=`,
//!   `X-Consul-Index`, 404 with the index when nothing matches, base64 `Value`, `null` for
//!   an empty value); `PUT` with `?flags`, `?cas`, `?acquire=`, `?release=` answering
//!   `true`/`false`; `DELETE` with `?recurse`.
//! * Sessions (`/v1/session/create|renew/:id|destroy/:id|info/:id`): `Behavior`
//!   (`release`/`delete`), `TTL` checked against the agent's `session_ttl_min` (10 s by
//!   default, lowered by tests as an agent's configuration can), `LockDelay` as a string or
//!   a number (nanoseconds, or seconds below 1000, as Consul's `FixupLockDelay`). A TTL
//!   session not renewed for 2 × TTL (Consul's multiplier) is invalidated: with `delete` its
//!   keys are deleted, with `release` released, and the lock delay applies to them.
//! * Agent services with TTL checks (`/v1/agent/service/register`,
//!   `/v1/agent/service/deregister/:id`, `/v1/agent/check/pass/:id`) and
//!   `/v1/health/service/:name?passing` with blocking queries; a check not passed within its
//!   TTL turns `critical`, and the service is removed after `DeregisterCriticalServiceAfter`.
//!
//! # What it does not prove
//!
//! It proves that the registry speaks the documented API in the documented way and copes
//! with sessions expiring, the agent going away and coming back with its state lost. It
//! does not prove anything about a real Consul's timing, Raft, ACLs, consistency modes,
//! multi-datacenter behaviour, or undocumented response details. A restarted emulator has
//! lost all its state, like a restarted `consul agent -dev` (which keeps everything in
//! memory); a real server agent keeps its KV, which is the easier case for clients.

mod duration;
mod http;
mod state;

pub use state::{AgentService, EmulatorConfig, KvEntry, SessionInfo, TtlCheck};

use state::State;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// One request as the emulator received it (for tests comparing request sequences).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `PUT`, `DELETE`.
    pub method: String,
    /// The path and query, as sent.
    pub path_and_query: String,
    /// The body, as text.
    pub body: String,
}

/// The shared state behind the HTTP handlers.
pub(crate) struct Emulator {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    log: Mutex<VecDeque<RecordedRequest>>,
}

impl Emulator {
    const LOG_CAPACITY: usize = 10_000;

    fn new(config: EmulatorConfig) -> Emulator {
        let state = State::new(config);
        Emulator {
            changed: watch::Sender::new(state.index()),
            state: Mutex::new(state),
            log: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes blocking queries after a change.
    pub(crate) fn notify(&self) {
        let index = self.lock().index();
        self.changed.send_replace(index);
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == Emulator::LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(request);
    }
}

/// A running Consul **emulator** on a loopback port, with its own runtime so that stopping
/// it closes every connection at once. Stopped on drop.
pub struct ConsulEmulator {
    config: EmulatorConfig,
    port: u16,
    emu: Arc<Emulator>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ConsulEmulator {
    /// Starts an emulator with `config` on a free loopback port.
    pub fn start(config: EmulatorConfig) -> ConsulEmulator {
        ConsulEmulator::start_on(config, 0)
    }

    /// Starts an emulator on `port` (0: a free one).
    pub fn start_on(config: EmulatorConfig, port: u16) -> ConsulEmulator {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("consul emulator: bind 127.0.0.1:{port}: {e}"));
        let port = listener.local_addr().expect("local addr").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let emu = Arc::new(Emulator::new(config.clone()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("consul-emulator")
            .enable_all()
            .build()
            .expect("emulator runtime");
        let app = http::router(emu.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let _ = axum::serve(listener, app).await;
        });
        let ticking = emu.clone();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tick.tick().await;
                let changed = ticking.lock().expire(Instant::now());
                if changed {
                    ticking.notify();
                }
            }
        });
        ConsulEmulator {
            config,
            port,
            emu,
            runtime: Some(runtime),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `consul://127.0.0.1:PORT{path_and_query}`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("consul://127.0.0.1:{}{path_and_query}", self.port)
    }

    /// Stops it: every connection is closed and the state is dropped.
    pub fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Starts it again on the same port with an empty state (after [`stop`](Self::stop)),
    /// as a restarted `consul agent -dev` would be.
    pub fn restart(&mut self) {
        self.stop();
        *self = ConsulEmulator::start_on(self.config.clone(), self.port);
    }

    /// Every KV entry, in key order.
    pub fn kv(&self) -> Vec<KvEntry> {
        self.emu.lock().kv.values().cloned().collect()
    }

    /// Every live session.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.emu.lock().sessions.values().cloned().collect()
    }

    /// Every agent service.
    pub fn services(&self) -> Vec<AgentService> {
        self.emu.lock().services.values().cloned().collect()
    }

    /// The requests received so far (the last 10 000).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let log = self.emu.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().cloned().collect()
    }
}

impl Drop for ConsulEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for ConsulEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulEmulator")
            .field("port", &self.port)
            .field("running", &self.runtime.is_some())
            .finish()
    }
}
