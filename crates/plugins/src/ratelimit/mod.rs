//! Rate limits: token buckets on accepted connections, on requests and on client calls.
//!
//! rpcx has two plugins here (`ConnRateLimitingPlugin`, `ReqRateLimitingPlugin`, both token
//! buckets); this module has those, per service and per method buckets, a waiting flavour,
//! and the same limits on the client side:
//!
//! - [`AcceptRateLimit`]: a new connection that finds the bucket empty is closed at once.
//! - [`RequestRateLimit`]: a request past the rate is answered with rpcx's exact text
//!   `request reached rate limit`, and the connection stays open.
//! - [`WaitRateLimit`] / [`wait_handler`]: the call waits for a token instead.
//! - [`LimitedCall`]: wraps a client; a call past the rate fails at once with
//!   [`LimitedCallError::RateLimited`], without touching the network.
//!
//! The buckets are `governor`'s (GCRA, lock-free, one atomic per check): a well-kept crate
//! whose cost per check is a compare-and-swap, so a limit costs the fast path almost nothing.

mod accept;
mod client;
mod rate;
mod request;
mod wait;

pub use accept::AcceptRateLimit;
pub use client::{LimitedCall, LimitedCallError};
pub use rate::{Limiter, Rate};
pub use request::RequestRateLimit;
pub use wait::{WaitRateLimit, wait_handler};
