//! The emulator's state: KV entries, sessions and agent services, with Consul's rules.

use crate::duration::{go_duration_string, parse_go_duration};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// An error answered as Consul does: an HTTP status and a plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError(pub(crate) u16, pub(crate) String);

/// One KV entry (Consul's `DirEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvEntry {
    /// The key, without a leading slash.
    pub key: String,
    /// The raw value.
    pub value: Vec<u8>,
    /// The opaque flags.
    pub flags: u64,
    /// The session holding the lock, if any.
    pub session: Option<String>,
    /// How many times the key was acquired.
    pub lock_index: u64,
    /// The index that created the entry.
    pub create_index: u64,
    /// The index that last modified the entry.
    pub modify_index: u64,
}

/// One session (Consul's `SessionEntry`), plus the request body that created it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The session ID (a UUID).
    pub id: String,
    /// The name given at creation.
    pub name: String,
    /// `release` or `delete`.
    pub behavior: String,
    /// The TTL as given (`10s`), empty when none.
    pub ttl: String,
    /// The lock delay.
    pub lock_delay: Duration,
    /// The JSON body of the create request, as received.
    pub create_body: String,
    /// The creation index.
    pub create_index: u64,
    pub(crate) deadline: Option<Instant>,
}

/// One service registered through the agent API, with its TTL check.
#[derive(Debug, Clone)]
pub struct AgentService {
    /// The service ID.
    pub id: String,
    /// The service name.
    pub name: String,
    /// The address.
    pub address: String,
    /// The port.
    pub port: u16,
    /// The tags.
    pub tags: Vec<String>,
    /// The service metadata.
    pub meta: BTreeMap<String, String>,
    /// The TTL check, if registered with one.
    pub check: Option<TtlCheck>,
}

/// A TTL health check of an agent service.
#[derive(Debug, Clone)]
pub struct TtlCheck {
    /// The check ID (`service:<service id>` unless given).
    pub id: String,
    /// `passing`, `warning` or `critical`.
    pub status: String,
    /// The TTL.
    pub ttl: Duration,
    /// Deregister the service after being critical this long.
    pub deregister_after: Option<Duration>,
    pub(crate) deadline: Instant,
    pub(crate) critical_since: Option<Instant>,
}

/// Emulator settings, named after the Consul agent options they stand for.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The agent's `session_ttl_min` (Consul's default is 10 s; tests lower it, as an agent's
    /// configuration can).
    pub session_ttl_min: Duration,
    /// Consul invalidates a TTL session after this many TTLs without renewal (2 in Consul).
    pub session_ttl_multiplier: u32,
    /// The largest value accepted (Consul: 512 KiB).
    pub max_value_bytes: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            session_ttl_min: Duration::from_secs(10),
            session_ttl_multiplier: 2,
            max_value_bytes: 512 * 1024,
        }
    }
}

/// Everything the emulator holds.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    index: u64,
    pub(crate) kv: BTreeMap<String, KvEntry>,
    tombstones: BTreeMap<String, u64>,
    lock_delays: HashMap<String, Instant>,
    pub(crate) sessions: BTreeMap<String, SessionInfo>,
    pub(crate) services: BTreeMap<String, AgentService>,
    services_index: u64,
}

/// The session create body fields the emulator reads.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct SessionCreate {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Behavior")]
    behavior: String,
    #[serde(rename = "TTL")]
    ttl: String,
    #[serde(rename = "LockDelay")]
    lock_delay: Option<serde_json::Value>,
}

impl State {
    pub(crate) fn new(config: EmulatorConfig) -> State {
        State {
            config,
            index: 1,
            ..State::default()
        }
    }

    pub(crate) fn index(&self) -> u64 {
        self.index
    }

    fn bump(&mut self) -> u64 {
        self.index += 1;
        self.index
    }

    /// The entries under `prefix` (or the one entry `key` when not recursive) and the index a
    /// blocking query on them compares with (the highest modify or delete index under the
    /// prefix, else the store's index).
    pub(crate) fn kv_read(&self, key: &str, recurse: bool) -> (Vec<KvEntry>, u64) {
        let entries: Vec<KvEntry> = if recurse {
            self.kv
                .range(key.to_owned()..)
                .take_while(|(k, _)| k.starts_with(key))
                .map(|(_, e)| e.clone())
                .collect()
        } else {
            self.kv.get(key).cloned().into_iter().collect()
        };
        let tomb = if recurse {
            self.tombstones
                .range(key.to_owned()..)
                .take_while(|(k, _)| k.starts_with(key))
                .map(|(_, i)| *i)
                .max()
        } else {
            self.tombstones.get(key).copied()
        };
        let index = entries
            .iter()
            .map(|e| e.modify_index)
            .chain(tomb)
            .max()
            .unwrap_or(self.index);
        (entries, index)
    }

    /// `PUT /v1/kv/key` with optional `flags`, `cas`, `acquire`, `release`.
    pub(crate) fn kv_put(
        &mut self,
        key: &str,
        value: Vec<u8>,
        flags: u64,
        cas: Option<u64>,
        acquire: Option<&str>,
        release: Option<&str>,
    ) -> Result<bool, ApiError> {
        if value.len() > self.config.max_value_bytes {
            return Err(ApiError(413, "Value exceeds 524288 byte limit".into()));
        }
        let existing = self.kv.get(key);
        if let Some(cas) = cas {
            let current = existing.map_or(0, |e| e.modify_index);
            if cas != current {
                return Ok(false);
            }
        }
        let mut session = existing.and_then(|e| e.session.clone());
        let mut lock_index = existing.map_or(0, |e| e.lock_index);
        if let Some(s) = acquire {
            if !self.sessions.contains_key(s) {
                return Err(ApiError(500, format!("invalid session \"{s}\"")));
            }
            match session.as_deref() {
                Some(holder) if holder == s => {}
                Some(_) => return Ok(false),
                None => {
                    if self
                        .lock_delays
                        .get(key)
                        .is_some_and(|t| *t > Instant::now())
                    {
                        return Ok(false);
                    }
                    session = Some(s.to_owned());
                    lock_index += 1;
                }
            }
        }
        if let Some(s) = release {
            if session.as_deref() != Some(s) {
                return Ok(false);
            }
            session = None;
        }
        let existing_create = existing.map(|e| e.create_index);
        let index = self.bump();
        let create_index = existing_create.unwrap_or(index);
        self.tombstones.remove(key);
        self.kv.insert(
            key.to_owned(),
            KvEntry {
                key: key.to_owned(),
                value,
                flags,
                session,
                lock_index,
                create_index,
                modify_index: index,
            },
        );
        Ok(true)
    }

    pub(crate) fn kv_delete(&mut self, key: &str, recurse: bool) {
        let keys: Vec<String> = if recurse {
            self.kv
                .range(key.to_owned()..)
                .take_while(|(k, _)| k.starts_with(key))
                .map(|(k, _)| k.clone())
                .collect()
        } else {
            self.kv
                .get(key)
                .map(|e| e.key.clone())
                .into_iter()
                .collect()
        };
        if keys.is_empty() {
            return;
        }
        let index = self.bump();
        for k in keys {
            self.kv.remove(&k);
            self.tombstones.insert(k, index);
        }
    }

    pub(crate) fn session_create(&mut self, body: &str) -> Result<String, ApiError> {
        let req: SessionCreate = if body.trim().is_empty() {
            SessionCreate::default()
        } else {
            serde_json::from_str(body)
                .map_err(|e| ApiError(400, format!("Request decode failed: {e}")))?
        };
        let behavior = match req.behavior.as_str() {
            "" | "release" => "release",
            "delete" => "delete",
            other => return Err(ApiError(400, format!("Invalid Behavior setting '{other}'"))),
        };
        let ttl = if req.ttl.is_empty() {
            None
        } else {
            let ttl = parse_go_duration(&req.ttl).ok_or_else(|| {
                ApiError(
                    400,
                    format!("Request decode failed: invalid TTL {:?}", req.ttl),
                )
            })?;
            let max = Duration::from_secs(86_400);
            if ttl < self.config.session_ttl_min || ttl > max {
                return Err(ApiError(
                    500,
                    format!(
                        "Invalid Session TTL '{}', must be between [{}={}]",
                        ttl.as_nanos(),
                        go_duration_string(self.config.session_ttl_min),
                        go_duration_string(max)
                    ),
                ));
            }
            Some(ttl)
        };
        let lock_delay = match req.lock_delay {
            None => Duration::from_secs(15),
            // A number is nanoseconds, or seconds when below 1000 (Consul's FixupLockDelay).
            Some(serde_json::Value::Number(n)) => {
                let n = n.as_u64().unwrap_or(0);
                if n < 1000 {
                    Duration::from_secs(n)
                } else {
                    Duration::from_nanos(n)
                }
            }
            Some(serde_json::Value::String(s)) => parse_go_duration(&s).ok_or_else(|| {
                ApiError(
                    400,
                    format!("Request decode failed: invalid LockDelay {s:?}"),
                )
            })?,
            Some(other) => {
                return Err(ApiError(
                    400,
                    format!("Request decode failed: LockDelay {other}"),
                ));
            }
        };
        let id = uuid();
        let create_index = self.bump();
        let deadline = ttl.map(|t| Instant::now() + t * self.config.session_ttl_multiplier);
        self.sessions.insert(
            id.clone(),
            SessionInfo {
                id: id.clone(),
                name: req.name,
                behavior: behavior.to_owned(),
                ttl: req.ttl,
                lock_delay,
                create_body: body.to_owned(),
                create_index,
                deadline,
            },
        );
        Ok(id)
    }

    pub(crate) fn session_renew(&mut self, id: &str) -> Option<SessionInfo> {
        let multiplier = self.config.session_ttl_multiplier;
        let s = self.sessions.get_mut(id)?;
        if let Some(ttl) = parse_go_duration(&s.ttl) {
            s.deadline = Some(Instant::now() + ttl * multiplier);
        }
        Some(s.clone())
    }

    /// Destroys a session, applying its behavior to the keys it holds.
    pub(crate) fn session_destroy(&mut self, id: &str) {
        let Some(session) = self.sessions.remove(id) else {
            return;
        };
        let held: Vec<String> = self
            .kv
            .values()
            .filter(|e| e.session.as_deref() == Some(id))
            .map(|e| e.key.clone())
            .collect();
        let index = self.bump();
        let until = Instant::now() + session.lock_delay;
        for key in held {
            self.lock_delays.insert(key.clone(), until);
            if session.behavior == "delete" {
                self.kv.remove(&key);
                self.tombstones.insert(key, index);
            } else if let Some(e) = self.kv.get_mut(&key) {
                e.session = None;
                e.modify_index = index;
            }
        }
    }

    /// Invalidates expired sessions and updates TTL checks; true when anything changed.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        let expired: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.deadline.is_some_and(|d| d <= now))
            .map(|s| s.id.clone())
            .collect();
        let mut changed = !expired.is_empty();
        for id in expired {
            self.session_destroy(&id);
        }
        let mut deregister = Vec::new();
        for service in self.services.values_mut() {
            let Some(check) = service.check.as_mut() else {
                continue;
            };
            if check.deadline <= now && check.status != "critical" {
                check.status = "critical".into();
                check.critical_since = Some(now);
                changed = true;
            }
            if let (Some(after), Some(since)) = (check.deregister_after, check.critical_since)
                && now.duration_since(since) >= after
            {
                deregister.push(service.id.clone());
            }
        }
        for id in deregister {
            self.services.remove(&id);
            changed = true;
        }
        if changed {
            self.services_index = self.bump();
        }
        changed
    }

    pub(crate) fn service_register(&mut self, service: AgentService) {
        self.services.insert(service.id.clone(), service);
        self.services_index = self.bump();
    }

    pub(crate) fn service_deregister(&mut self, id: &str) -> bool {
        let found = self.services.remove(id).is_some();
        if found {
            self.services_index = self.bump();
        }
        found
    }

    /// `PUT /v1/agent/check/pass/:id`; false when there is no such check.
    pub(crate) fn check_pass(&mut self, check_id: &str) -> bool {
        let now = Instant::now();
        for service in self.services.values_mut() {
            if let Some(check) = service.check.as_mut().filter(|c| c.id == check_id) {
                check.deadline = now + check.ttl;
                check.critical_since = None;
                if check.status != "passing" {
                    check.status = "passing".into();
                    self.services_index = self.index + 1;
                    self.index += 1;
                }
                return true;
            }
        }
        false
    }

    pub(crate) fn services_index(&self) -> u64 {
        self.services_index.max(1)
    }
}

/// A random version-4-shaped UUID.
fn uuid() -> String {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}
