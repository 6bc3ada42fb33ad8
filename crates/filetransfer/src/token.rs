//! Single-use tokens and the bounded table that holds them until their side connection comes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The length of a token on the wire: 32 random bytes, as Go's `crypto/rand` fills them.
pub const TOKEN_LEN: usize = 32;

/// A token: the first 32 bytes a client writes on the side connection.
pub(crate) type Token = [u8; TOKEN_LEN];

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IssueError {
    /// The table holds its maximum of live tokens.
    #[error("{}", crate::error::TOKEN_TABLE_FULL)]
    Full,
    /// The operating system gave no random bytes.
    #[error("rpcx: no random bytes for a token: {0}")]
    Random(getrandom::Error),
}

/// Why a presented token was refused (logged at debug level, never sent anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Never issued, or already used (single use: a used token is forgotten).
    Unknown,
    /// Issued, but its lifetime passed before the side connection came.
    Expired,
}

struct Entry<T> {
    issued: Instant,
    ticket: T,
}

/// Live tokens and what each one is for, at most `capacity` of them, each for `lifetime`.
///
/// Unlike Go's LRU, which silently evicts the oldest token when full, a full table refuses to
/// issue: evicting would let a burst of requests cancel other clients' pending transfers.
pub(crate) struct TokenTable<T> {
    entries: Mutex<HashMap<Token, Entry<T>>>,
    capacity: usize,
    lifetime: Duration,
    issued_since_sweep: AtomicUsize,
}

/// How many tokens are issued between two sweeps of expired ones (besides the sweep when full).
const SWEEP_EVERY: usize = 64;

impl<T> TokenTable<T> {
    /// An empty table.
    pub(crate) fn new(capacity: usize, lifetime: Duration) -> Self {
        TokenTable {
            entries: Mutex::new(HashMap::new()),
            capacity,
            lifetime,
            issued_since_sweep: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Token, Entry<T>>> {
        // A panic while holding this lock cannot leave the map half-updated.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a fresh random token for `ticket`.
    pub(crate) fn issue(&self, ticket: T) -> Result<Token, IssueError> {
        let mut token = [0u8; TOKEN_LEN];
        getrandom::fill(&mut token).map_err(IssueError::Random)?;
        let now = Instant::now();
        let mut entries = self.lock();
        // Sweep expired tokens when full, and otherwise once every SWEEP_EVERY issues (so the
        // cost per issue stays constant): what they hold, such as a download's open file, does
        // not outlive them for long.
        let lifetime = self.lifetime;
        let since = self.issued_since_sweep.fetch_add(1, Relaxed) + 1;
        if entries.len() >= self.capacity || since >= SWEEP_EVERY {
            self.issued_since_sweep.store(0, Relaxed);
            entries.retain(|_, e| now.duration_since(e.issued) < lifetime);
        }
        if entries.len() >= self.capacity {
            return Err(IssueError::Full);
        }
        entries.insert(
            token,
            Entry {
                issued: now,
                ticket,
            },
        );
        Ok(token)
    }

    /// Takes the ticket of `token` out of the table: a token works once.
    pub(crate) fn take(&self, token: &Token) -> Result<T, Refusal> {
        let entry = self.lock().remove(token).ok_or(Refusal::Unknown)?;
        if entry.issued.elapsed() >= self.lifetime {
            return Err(Refusal::Expired);
        }
        Ok(entry.ticket)
    }

    /// How many tokens are live or expired but not yet swept.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_works_once() {
        let t = TokenTable::new(4, Duration::from_secs(60));
        let tok = t.issue(1).unwrap();
        assert_eq!(t.take(&tok), Ok(1));
        assert_eq!(t.take(&tok), Err(Refusal::Unknown));
    }

    #[test]
    fn a_full_table_refuses_until_tokens_expire() {
        let t = TokenTable::new(2, Duration::from_millis(1));
        t.issue(()).unwrap();
        t.issue(()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        // Both expired: the sweep makes room.
        let tok = t.issue(()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(t.take(&tok), Err(Refusal::Expired));

        let t = TokenTable::new(1, Duration::from_secs(60));
        t.issue(()).unwrap();
        assert!(matches!(t.issue(()), Err(IssueError::Full)));
    }

    #[test]
    fn tokens_are_random() {
        let t = TokenTable::new(4, Duration::from_secs(60));
        assert_ne!(t.issue(()).unwrap(), t.issue(()).unwrap());
    }
}
