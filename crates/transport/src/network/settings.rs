//! A process-wide setting: a value read at each listen or dial, replaced by its setter.

use std::sync::RwLock;

/// One setting, `None` until set.
pub(crate) struct Setting<T>(RwLock<Option<T>>);

impl<T: Clone> Setting<T> {
    pub(crate) const fn new() -> Setting<T> {
        Setting(RwLock::new(None))
    }

    pub(crate) fn set(&self, value: T) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }

    pub(crate) fn get(&self) -> Option<T> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
