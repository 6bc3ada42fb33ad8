//! Makes a test fail when a server or connection task panics.
//!
//! Tokio catches a panic in a spawned task and ends only that task, so a panic in a
//! connection's reader, say, is invisible to the test that caused it: the connection just
//! closes. This module installs a process-wide panic hook (once, chaining to whatever hook was
//! there) that records every panic *not* raised from test code, and a [`PanicGuard`] that a test
//! holds and that fails the test when such a panic was recorded while it was alive.
//!
//! Which panics count: any whose location is outside the test-side files (`tests/`,
//! `examples/`, `benches/`). So a library panic (`crates/*/src/`, or a dependency's assertion
//! reached from library code) counts; a handler that a test file makes panic on purpose, or a
//! failed assertion in the test itself, does not.
//!
//! Install order does not matter: another hook installed later that chains to the previous
//! one keeps ours in the chain; one that does not chain is detected by a probe when the next
//! guard is made, and ours is installed again on top of it.

use std::cell::Cell;
use std::panic::{self, PanicHookInfo};
use std::sync::Mutex;

/// A panic the hook recorded: where and what.
#[derive(Debug, Clone)]
pub struct RecordedPanic {
    /// `file:line:column` of the panic.
    pub location: String,
    /// The panic message.
    pub message: String,
    /// The panicking thread's name.
    pub thread: String,
}

/// Every library panic since the process started.
static RECORDED: Mutex<Vec<RecordedPanic>> = Mutex::new(Vec::new());
/// Serialises hook installation.
static INSTALL: Mutex<()> = Mutex::new(());

thread_local! {
    /// Set while this thread probes whether our hook is still in the chain.
    static PROBING: Cell<bool> = const { Cell::new(false) };
    /// Set by our hook when it sees the probe.
    static PROBE_SEEN: Cell<bool> = const { Cell::new(false) };
}

/// Payload of the probe panic.
struct Probe;

/// True for files of the test side: the panics a test raises on purpose.
fn is_test_code(file: &str) -> bool {
    let file = file.replace('\\', "/");
    ["tests/", "examples/", "benches/"]
        .iter()
        .any(|dir| file.starts_with(dir) || file.contains(&format!("/{dir}")))
}

fn message(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic payload>".to_owned())
}

/// Installs our hook on top of the current one.
fn install_on_top() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if info.payload().is::<Probe>() && PROBING.with(Cell::get) {
            PROBE_SEEN.with(|s| s.set(true));
            return; // the probe is ours: nobody else needs to see it
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "<unknown>".to_owned());
        let from_test = info.location().is_some_and(|l| is_test_code(l.file()));
        if !from_test {
            let thread = std::thread::current()
                .name()
                .unwrap_or("<unnamed>")
                .to_owned();
            RECORDED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(RecordedPanic {
                    location,
                    message: message(info),
                    thread,
                });
        }
        previous(info);
    }));
}

/// True when a panic raised on this thread reaches our hook.
fn hook_in_chain() -> bool {
    PROBING.with(|p| p.set(true));
    PROBE_SEEN.with(|s| s.set(false));
    let _ = panic::catch_unwind(|| panic::panic_any(Probe));
    PROBING.with(|p| p.set(false));
    PROBE_SEEN.with(Cell::get)
}

/// Makes sure our hook sees every panic from now on. Returns false when it had to be put
/// back on top of a hook that does not chain to it.
pub fn install() -> bool {
    let _lock = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if hook_in_chain() {
        return true;
    }
    install_on_top();
    false
}

/// The library panics recorded so far in this process.
pub fn recorded() -> Vec<RecordedPanic> {
    RECORDED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Fails the test (when dropped, or on [`PanicGuard::check`]) if a library panic was recorded
/// while it was alive. Make it first thing in a test, before any server starts.
///
/// Tests run in parallel threads of one process, so a guard also sees a library panic caused
/// by another test running at the same time: that is a real bug too, and it makes both red.
#[must_use = "the guard checks for panics when it is dropped"]
pub struct PanicGuard {
    start: usize,
}

/// Installs the hook (if needed) and starts watching.
pub fn guard() -> PanicGuard {
    let _ = install();
    PanicGuard {
        start: recorded().len(),
    }
}

impl PanicGuard {
    /// The library panics recorded since this guard was made.
    pub fn panics(&self) -> Vec<RecordedPanic> {
        let mut all = recorded();
        let start = self.start.min(all.len());
        all.split_off(start)
    }

    /// Panics (fails the test) if a library panic was recorded since this guard was made.
    pub fn check(&self) {
        if !install() {
            eprintln!(
                "panic guard: a panic hook installed while this test ran does not chain to \
                 ours; panics since then may have gone unseen (ours is back on top now)"
            );
        }
        let seen = self.panics();
        assert!(
            seen.is_empty(),
            "{} panic(s) in library code while this test ran (tokio caught them, \
             so only this guard noticed): {seen:#?}",
            seen.len()
        );
    }
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.check();
        }
    }
}
