//! The raw receiver of server pushes, bounded in bytes as well as in messages.

use crate::budget::{ByteBudget, Charge};
use fastrpc_core::Message;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A server push on its way to the application, with the bytes it holds in the push budget.
pub(crate) type QueuedPush = (Message, Charge);

/// Server pushes of one connection as raw messages, as Go delivers them, from
/// [`Client::take_push_receiver`]; [`Client::push_receiver`] wraps it in a typed
/// [`PushReceiver`](crate::PushReceiver).
///
/// The queue behind it is bounded by [`ClientOptions::push_capacity`] messages and
/// [`ClientOptions::max_push_bytes`] bytes; a push is released from the byte budget when it is
/// received here.
///
/// [`Client::take_push_receiver`]: crate::Client::take_push_receiver
/// [`Client::push_receiver`]: crate::Client::push_receiver
/// [`ClientOptions::push_capacity`]: crate::ClientOptions::push_capacity
/// [`ClientOptions::max_push_bytes`]: crate::ClientOptions::max_push_bytes
#[derive(Debug)]
pub struct RawPushReceiver {
    rx: mpsc::Receiver<QueuedPush>,
    budget: Arc<ByteBudget>,
}

impl RawPushReceiver {
    pub(crate) fn new(rx: mpsc::Receiver<QueuedPush>, budget: Arc<ByteBudget>) -> RawPushReceiver {
        RawPushReceiver { rx, budget }
    }

    /// The next push; `None` once the connection is gone and every push was received (the
    /// last one is then the connection-closed message, status Error with metadata `server`).
    pub async fn recv(&mut self) -> Option<Message> {
        self.rx.recv().await.map(|(m, _charge)| m)
    }

    /// The next push if one is queued.
    pub fn try_recv(&mut self) -> Result<Message, mpsc::error::TryRecvError> {
        self.rx.try_recv().map(|(m, _charge)| m)
    }

    /// Bytes of pushes queued and not yet received.
    pub fn queued_bytes(&self) -> usize {
        self.budget.used()
    }
}
