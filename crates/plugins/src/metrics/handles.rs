//! Metric handles cached per service and method, so the hot path does one map lookup under a
//! read lock instead of building label sets and querying the recorder on every call.

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The handles of one service and method.
#[derive(Debug)]
pub(crate) struct MethodHandles {
    pub(crate) requests: Counter,
    pub(crate) in_flight: Gauge,
    pub(crate) duration: Histogram,
    service: String,
    method: String,
    errors_name: &'static str,
}

impl MethodHandles {
    /// Counts an error of `kind` (errors are rare: the recorder is asked each time).
    pub(crate) fn error(&self, kind: &'static str) {
        let labels = [
            ("service", self.service.clone()),
            ("method", self.method.clone()),
            ("kind", kind.to_owned()),
        ];
        counter!(self.errors_name, &labels).increment(1);
    }
}

/// The metric names of one side (server or client).
#[derive(Clone, Copy)]
pub(crate) struct Names {
    pub(crate) requests: &'static str,
    pub(crate) errors: &'static str,
    pub(crate) in_flight: &'static str,
    pub(crate) duration: &'static str,
}

/// service -> method -> handles. Grows only with names the caller vouches for (registered
/// methods on the server, the program's own calls on the client).
pub(crate) struct HandleCache {
    names: Names,
    map: RwLock<HashMap<String, HashMap<String, Arc<MethodHandles>>>>,
}

impl HandleCache {
    pub(crate) fn new(names: Names) -> HandleCache {
        HandleCache {
            names,
            map: RwLock::default(),
        }
    }

    pub(crate) fn get(&self, service: &str, method: &str) -> Arc<MethodHandles> {
        if let Some(h) = self
            .map
            .read()
            .unwrap()
            .get(service)
            .and_then(|m| m.get(method))
        {
            return h.clone();
        }
        let labels = [
            ("service", service.to_owned()),
            ("method", method.to_owned()),
        ];
        let n = self.names;
        let h = Arc::new(MethodHandles {
            requests: counter!(n.requests, &labels),
            in_flight: gauge!(n.in_flight, &labels),
            duration: histogram!(n.duration, &labels),
            service: service.to_owned(),
            method: method.to_owned(),
            errors_name: n.errors,
        });
        self.map
            .write()
            .unwrap()
            .entry(service.to_owned())
            .or_default()
            .entry(method.to_owned())
            .or_insert(h)
            .clone()
    }
}

impl std::fmt::Debug for HandleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleCache").finish_non_exhaustive()
    }
}
