//! Handler panics, caught quietly.
//!
//! A panic inside a handler becomes an error reply and one rate-limited ERROR line. The
//! process-wide panic hook would also print its message and, with `RUST_BACKTRACE`, a
//! backtrace for every one of them (tens of KB a panic, at a peer's request), so the server
//! installs, once, a hook that stays silent for panics raised while a handler is being polled
//! under [`CatchPanic`], and hands every other panic to the hook installed before it.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

thread_local! {
    /// True while this thread polls a handler under [`CatchPanic`].
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Installs the quiet hook (once per process), chaining to the hook in place before it.
pub(crate) fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_HANDLER.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Polls a handler's future, turning a panic into `Err(panic payload)`.
pub(crate) struct CatchPanic<F> {
    fut: F,
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(fut: F) -> CatchPanic<F> {
        CatchPanic { fut }
    }
}

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = &mut self.fut;
        let was = IN_HANDLER.with(|f| f.replace(true));
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(fut).poll(cx)));
        IN_HANDLER.with(|f| f.set(was));
        match polled {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The text of a panic payload (`&str` or `String`), else `"panic"`.
pub(crate) fn panic_text(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}
