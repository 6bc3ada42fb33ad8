//! The server-wide byte budgets and the accounting a caller can read
//! ([`Server::budget_usage`](crate::Server::budget_usage)).

use crate::ServerOptions;
use fastrpc_transport::ByteBudget;
use std::sync::Arc;

/// Budgets shared by every connection of a server.
pub(crate) struct ServerBudgets {
    /// Bytes of requests read and not yet answered with a written reply.
    pub(crate) requests: ByteBudget,
    /// Bytes of replies handed to writers and not yet written (no limit of its own: each
    /// connection's share is bounded; this is the sum, for [`BudgetUsage`]).
    pub(crate) queued: ByteBudget,
    /// Bytes held in read buffers beyond each connection's first 1 KiB.
    pub(crate) partial: Arc<ByteBudget>,
}

impl ServerBudgets {
    pub(crate) fn new(opts: &ServerOptions) -> ServerBudgets {
        ServerBudgets {
            requests: ByteBudget::new(opts.max_server_in_flight_request_bytes),
            queued: ByteBudget::new(usize::MAX),
            // Never below one whole frame, so the largest frame allowed can always complete.
            partial: Arc::new(ByteBudget::new(
                opts.max_partial_frame_bytes
                    .max(opts.limits.max_frame_len.saturating_add(16)),
            )),
        }
    }
}

/// What a server holds for its peers now, in bytes (its own accounting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetUsage {
    /// Reply bytes queued for writers and not yet written, all connections together.
    pub queued_reply_bytes: usize,
    /// Request bytes read and not yet answered with a written reply.
    pub in_flight_request_bytes: usize,
    /// Bytes held in read buffers of frames not yet whole (beyond each connection's first
    /// 1 KiB, which [`BudgetUsage::open_connections`] bounds).
    pub partial_frame_bytes: usize,
    /// Connections open now.
    pub open_connections: usize,
}

impl BudgetUsage {
    /// The bytes held in all: queued replies, requests in flight and partial frames.
    pub fn held_bytes(&self) -> usize {
        self.queued_reply_bytes + self.in_flight_request_bytes + self.partial_frame_bytes
    }
}
