//! XClient options (rpcx's `client.Option`, the parts that concern an XClient).

use crate::breaker::BreakerPolicy;
use crate::discovery::FilterFn;
use crate::plugin::ClientPlugin;
use fastrpc_client::ClientOptions;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long to wait before dialing a server again after a failed connect: `initial`, doubled
/// after each further failure, at most `max`. A success resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectBackoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for ReconnectBackoff {
    fn default() -> ReconnectBackoff {
        ReconnectBackoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl ReconnectBackoff {
    /// The wait after `failures` consecutive failed connects (`failures >= 1`).
    pub fn delay(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(20);
        self.initial.saturating_mul(1 << shift).min(self.max)
    }
}

/// How much of a call's deadline one Failover attempt may use.
///
/// A server that accepts a request and never answers (hung, stopped, overloaded) holds the
/// attempt until its time budget ends. With the whole deadline as budget (rpcx's behaviour),
/// the call then fails although other servers were fine. With a share, the attempt gives up
/// early enough for the remaining attempts to run elsewhere. The cost: an answer slower than
/// its share is abandoned and the request retried (so it may run twice, as any retry of a
/// timeout may).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AttemptTimeout {
    /// Each attempt gets what is left of the deadline divided by the attempts left (with
    /// 3 retries and a 2 s deadline: 500 ms). Calls without a deadline are not cut. Default.
    #[default]
    Share,
    /// Each attempt gets at most this, deadline or not.
    Fixed(Duration),
    /// Each attempt may use all that is left of the deadline (rpcx's behaviour).
    Whole,
}

/// Settings of an [`XClient`](crate::XClient). `XClientOptions::default()` is rpcx's
/// `DefaultOption` (3 retries, no retry interval, 10 ms backup latency, 1 s connect timeout,
/// MsgPack) plus two resilience defaults rpcx lacks: a breaker that takes a hung server out of
/// rotation ([`BreakerPolicy::DEFAULT`]) and a per-attempt share of the deadline
/// ([`AttemptTimeout::Share`]).
#[derive(Clone)]
#[non_exhaustive]
pub struct XClientOptions {
    /// Retries after the first attempt for Failover and Failtry (default 3: up to 4
    /// attempts).
    pub retries: u32,
    /// Pause between retries (default none).
    pub retry_interval: Duration,
    /// Failbackup: how long the first request may take before the backup is sent (default
    /// 10 ms).
    pub backup_latency: Duration,
    /// Dial timeout (default 1 s); overrides `client.connect_timeout`.
    pub connect_timeout: Duration,
    /// Waiting between reconnect attempts to a server that failed to connect.
    pub reconnect_backoff: ReconnectBackoff,
    /// Only servers whose `group` metadata includes this (rpcx `Group`).
    pub group: Option<String>,
    /// An extra filter on discovered servers (rpcx `SetFilter`).
    pub filter: Option<FilterFn>,
    /// Per-server circuit breakers (rpcx `GenBreaker`); default [`BreakerPolicy::DEFAULT`]
    /// (3 timeouts in a row open it for 1 s); `None` turns breakers off.
    pub breaker: Option<BreakerPolicy>,
    /// How much of the deadline one Failover attempt may use (default a share).
    pub attempt_timeout: AttemptTimeout,
    /// The client's `(latitude, longitude)` for the Closest selector.
    pub position: Option<(f64, f64)>,
    /// A deadline applied to calls that set none (default none).
    pub default_timeout: Option<Duration>,
    /// Settings of each underlying connection (serialize type, compression, heartbeat, ...).
    pub client: ClientOptions,
    /// Plugins, run in order.
    pub plugins: Vec<Arc<dyn ClientPlugin>>,
    /// When set, server pushes from every connection are forwarded into one channel of this
    /// capacity ([`XClient::take_push_receiver`](crate::XClient::take_push_receiver)).
    pub push_capacity: Option<usize>,
}

impl Default for XClientOptions {
    fn default() -> XClientOptions {
        XClientOptions {
            retries: 3,
            retry_interval: Duration::ZERO,
            backup_latency: Duration::from_millis(10),
            connect_timeout: Duration::from_secs(1),
            reconnect_backoff: ReconnectBackoff::default(),
            group: None,
            filter: None,
            breaker: Some(BreakerPolicy::DEFAULT),
            attempt_timeout: AttemptTimeout::Share,
            position: None,
            default_timeout: None,
            client: ClientOptions::default(),
            plugins: Vec::new(),
            push_capacity: None,
        }
    }
}

impl fmt::Debug for XClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XClientOptions")
            .field("retries", &self.retries)
            .field("retry_interval", &self.retry_interval)
            .field("backup_latency", &self.backup_latency)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect_backoff", &self.reconnect_backoff)
            .field("group", &self.group)
            .field("filter", &self.filter.is_some())
            .field("breaker", &self.breaker)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("position", &self.position)
            .field("default_timeout", &self.default_timeout)
            .field("client", &self.client)
            .field("plugins", &self.plugins.len())
            .field("push_capacity", &self.push_capacity)
            .finish()
    }
}

impl XClientOptions {
    /// Sets the number of retries.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
    /// Sets the pause between retries.
    pub fn retry_interval(mut self, d: Duration) -> Self {
        self.retry_interval = d;
        self
    }
    /// Sets the Failbackup latency.
    pub fn backup_latency(mut self, d: Duration) -> Self {
        self.backup_latency = d;
        self
    }
    /// Sets the dial timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Sets the reconnect backoff.
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.reconnect_backoff = ReconnectBackoff { initial, max };
        self
    }
    /// Restricts the client to servers of `group`.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    /// Adds a server filter.
    pub fn filter(
        mut self,
        f: impl Fn(&crate::ServerEntry) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter = Some(Arc::new(f));
        self
    }
    /// Sets the per-server circuit breaker policy.
    pub fn breaker(mut self, policy: BreakerPolicy) -> Self {
        self.breaker = Some(policy);
        self
    }
    /// Turns per-server circuit breakers off.
    pub fn no_breaker(mut self) -> Self {
        self.breaker = None;
        self
    }
    /// Sets how much of the deadline one Failover attempt may use.
    pub fn attempt_timeout(mut self, t: AttemptTimeout) -> Self {
        self.attempt_timeout = t;
        self
    }
    /// Sets the client's position for the Closest selector.
    pub fn position(mut self, latitude: f64, longitude: f64) -> Self {
        self.position = Some((latitude, longitude));
        self
    }
    /// Sets a deadline for calls that have none.
    pub fn default_timeout(mut self, d: Duration) -> Self {
        self.default_timeout = Some(d);
        self
    }
    /// Sets the connection options.
    pub fn client_options(mut self, opts: ClientOptions) -> Self {
        self.client = opts;
        self
    }
    /// Adds a plugin.
    pub fn plugin(mut self, p: impl ClientPlugin) -> Self {
        self.plugins.push(Arc::new(p));
        self
    }
    /// Forwards server pushes into one channel of `capacity` (a bidirectional client).
    pub fn bidirectional(mut self, capacity: usize) -> Self {
        self.push_capacity = Some(capacity.max(1));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max() {
        let b = ReconnectBackoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(700),
        };
        let ms = |n| b.delay(n).as_millis();
        assert_eq!(
            (ms(1), ms(2), ms(3), ms(4), ms(40)),
            (100, 200, 400, 700, 700)
        );
    }
}
