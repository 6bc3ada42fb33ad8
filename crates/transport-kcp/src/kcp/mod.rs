//! The KCP protocol core: a port of ikcp.c (the ARQ kcp-go runs), sans-IO.
//!
//! Ported rather than taken from the `kcp` crate because that crate computes sequence and
//! timestamp distances as `a as i32 - b as i32`, which overflows (and panics in debug builds) on
//! values a peer chooses; here every such distance wraps.

mod control;
mod segment;

pub(crate) use control::{Kcp, Tuning};
pub(crate) use segment::{peek_conv, starts_conversation};

#[cfg(test)]
mod tests;
