//! Settings of a KCP listener or dialer: the crypt, kcp-go's KCP tuning, and the budgets.

use std::time::Duration;

use crate::crypt::BlockCrypt;
use crate::kcp::Tuning;
use crate::wire::{HEADER_SIZE, MTU};

/// Settings for [`KcpListener::bind`](crate::KcpListener::bind) and
/// [`KcpStream::connect`](crate::KcpStream::connect).
///
/// [`KcpConfig::new`] gives kcp-go's defaults as rpcx runs them (it tunes nothing): windows 32,
/// MTU 1400, interval 100 ms, nodelay off, fast resend off, congestion control on, no ACK
/// nodelay, dead link after 20 retransmissions. Both ends must use the same [`BlockCrypt`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KcpConfig {
    /// How datagrams are encrypted. rpcx requires one on both sides.
    pub crypt: BlockCrypt,
    /// Send window in segments (kcp-go `WndSize`, default 32).
    pub send_window: u16,
    /// Receive window in segments (default 32). Also bounds what a peer can make us buffer.
    pub recv_window: u16,
    /// KCP's internal update interval (default 100 ms).
    pub interval: Duration,
    /// kcp-go `NoDelay`'s `nodelay` (default off: minimum RTO 100 ms).
    pub nodelay: bool,
    /// Fast-resend after this many skipping ACKs; 0 (default) disables it.
    pub fast_resend: u32,
    /// Turns congestion control off (kcp-go `nc`; default false).
    pub no_congestion_control: bool,
    /// Send ACKs as soon as data arrives instead of at the next update (default false).
    pub ack_nodelay: bool,
    /// A segment retransmitted this many times kills the session (default 20).
    pub dead_link: u32,
    /// Most sessions one listener holds at once; new peers beyond it are refused (default 256,
    /// so a listener holds at most 256 × [`KcpConfig::session_budget_bytes`], about 66 MB).
    pub max_sessions: usize,
    /// Sessions accepted by the socket but not yet taken by `accept` (default 128); beyond it new
    /// peers are refused.
    pub accept_backlog: usize,
    /// A session that hears nothing from its peer for this long is closed (default 5 minutes;
    /// `None` keeps it until the dead link, as kcp-go does).
    pub idle_timeout: Option<Duration>,
    /// After the stream is dropped or shut down, how long the session keeps retransmitting
    /// unacknowledged data before it goes (default 10 s).
    pub linger: Duration,
}

impl KcpConfig {
    /// kcp-go's defaults with the given crypt.
    pub fn new(crypt: BlockCrypt) -> KcpConfig {
        KcpConfig {
            crypt,
            send_window: 32,
            recv_window: 32,
            interval: Duration::from_millis(100),
            nodelay: false,
            fast_resend: 0,
            no_congestion_control: false,
            ack_nodelay: false,
            dead_link: 20,
            max_sessions: 256,
            accept_backlog: 128,
            idle_timeout: Some(Duration::from_secs(300)),
            linger: Duration::from_secs(10),
        }
    }

    /// What rpcx's own KCP examples run: AES-256 under rpcx's example key (see
    /// [`rpcx_example_key`](crate::rpcx_example_key)) and, as their `ConfigUDPSession` plugin
    /// sets on both sides, ACK nodelay. (The plugin also sets kcp-go's stream mode; that changes
    /// nothing on the wire for this crate, whose writes are one-fragment messages either way.)
    /// Talks to Go rpcx's KCP examples as they are.
    pub fn rpcx_example() -> KcpConfig {
        KcpConfig {
            ack_nodelay: true,
            ..KcpConfig::new(BlockCrypt::rpcx_example())
        }
    }

    /// The most bytes one session can buffer: its receive window twice (reassembly and the
    /// in-order queue), its send window, one write's worth of queued segments, and the FEC
    /// decoder's open groups, each segment at most one MTU.
    pub fn session_budget_bytes(&self) -> usize {
        let segments = 2 * usize::from(self.recv_window) + 2 * usize::from(self.send_window);
        let fec = 3 * 13;
        let acks = 1024 * 24;
        (segments + fec) * MTU + acks
    }

    /// The most bytes a listener's sessions can hold together: `max_sessions` times
    /// [`KcpConfig::session_budget_bytes`].
    pub fn listener_budget_bytes(&self) -> usize {
        self.max_sessions
            .saturating_mul(self.session_budget_bytes())
    }

    pub(crate) fn tuning(&self) -> Tuning {
        Tuning {
            nodelay: self.nodelay,
            interval: u32::try_from(self.interval.as_millis()).unwrap_or(5000),
            resend: self.fast_resend,
            no_congestion: self.no_congestion_control,
            snd_wnd: self.send_window,
            rcv_wnd: self.recv_window,
            mtu: MTU,
            reserved: HEADER_SIZE,
            dead_link: self.dead_link.max(1),
        }
    }
}
