//! KCP's clock: milliseconds since a process-wide start, wrapping in 32 bits like kcp-go's
//! `currentMs`.

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the first call in this process, modulo 2^32.
pub(crate) fn now_ms() -> u32 {
    START.get_or_init(Instant::now).elapsed().as_millis() as u32
}

/// `later - earlier` in milliseconds on the 32-bit circle.
pub(crate) fn diff(later: u32, earlier: u32) -> i32 {
    later.wrapping_sub(earlier) as i32
}
