//! The KCP ARQ state machine: a port of ikcp.c as kcp-go v5 runs it.
//!
//! Sans-IO: [`Kcp::input`] takes one KCP packet, [`Kcp::update`] and [`Kcp::flush`] emit packets
//! into [`Kcp::take_output`]. Every sequence-number and timestamp comparison uses wrapping
//! arithmetic, because both come from the peer and must never overflow.

use std::collections::VecDeque;

use super::segment::{CMD_ACK, CMD_PUSH, CMD_WASK, CMD_WINS, Header, OVERHEAD};

const RTO_MIN: u32 = 100;
const RTO_DEF: u32 = 200;
const RTO_MAX: u32 = 60_000;
const ASK_SEND: u32 = 1;
const ASK_TELL: u32 = 2;
const THRESH_INIT: u32 = 2;
const THRESH_MIN: u32 = 2;
const PROBE_INIT: u32 = 7_000;
const PROBE_LIMIT: u32 = 120_000;
const FASTACK_LIMIT: u32 = 5;
/// The most pending ACKs kept between two flushes; a peer replaying segments cannot grow the list
/// further (a dropped ACK only costs the peer a retransmission).
const MAX_ACKLIST: usize = 1024;

/// `later - earlier` as a signed distance on the 32-bit circle.
fn timediff(later: u32, earlier: u32) -> i32 {
    later.wrapping_sub(earlier) as i32
}

/// Why [`Kcp::input`] rejected a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputError {
    /// Shorter than one segment header, or a segment's `len` runs past the end.
    Truncated,
    /// A segment belongs to another conversation.
    WrongConv,
    /// A command byte KCP does not know.
    UnknownCmd,
}

/// Why [`Kcp::send`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    /// More fragments than the frg byte can count.
    TooLarge,
}

/// A segment waiting to be sent, in flight, or received.
#[derive(Debug, Default)]
struct Segment {
    frg: u8,
    ts: u32,
    sn: u32,
    resendts: u32,
    rto: u32,
    fastack: u32,
    xmit: u32,
    data: Vec<u8>,
}

/// Tuning knobs, named as in kcp-go (`NoDelay(nodelay, interval, resend, nc)`, `WndSize`, `SetMtu`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub(crate) nodelay: bool,
    pub(crate) interval: u32,
    pub(crate) resend: u32,
    pub(crate) no_congestion: bool,
    pub(crate) snd_wnd: u16,
    pub(crate) rcv_wnd: u16,
    /// The whole datagram size, reserved header included.
    pub(crate) mtu: usize,
    /// Bytes left free at the front of every emitted packet for the session header.
    pub(crate) reserved: usize,
    pub(crate) dead_link: u32,
}

/// One KCP conversation.
#[derive(Debug)]
pub(crate) struct Kcp {
    conv: u32,
    mtu: usize,
    mss: usize,
    reserved: usize,
    dead: bool,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    ssthresh: u32,
    rx_rttval: u32,
    rx_srtt: u32,
    rx_rto: u32,
    rx_minrto: u32,
    snd_wnd: u32,
    rcv_wnd: u32,
    rmt_wnd: u32,
    cwnd: u32,
    probe: u32,
    current: u32,
    interval: u32,
    ts_flush: u32,
    nodelay: bool,
    updated: bool,
    ts_probe: u32,
    probe_wait: u32,
    dead_link: u32,
    incr: usize,
    fastresend: u32,
    nocwnd: bool,
    snd_queue: VecDeque<Segment>,
    snd_buf: VecDeque<Segment>,
    rcv_buf: VecDeque<Segment>,
    rcv_queue: VecDeque<Segment>,
    acklist: Vec<(u32, u32)>,
    buf: Vec<u8>,
    output: Vec<Vec<u8>>,
}

impl Kcp {
    /// A conversation in message mode with the given tuning.
    pub(crate) fn new(conv: u32, t: Tuning) -> Kcp {
        let mut k = Kcp {
            conv,
            mtu: t.mtu,
            mss: t.mtu.saturating_sub(OVERHEAD + t.reserved).max(1),
            reserved: t.reserved,
            dead: false,
            snd_una: 0,
            snd_nxt: 0,
            rcv_nxt: 0,
            ssthresh: THRESH_INIT,
            rx_rttval: 0,
            rx_srtt: 0,
            rx_rto: RTO_DEF,
            rx_minrto: RTO_MIN,
            snd_wnd: u32::from(t.snd_wnd.max(1)),
            rcv_wnd: u32::from(t.rcv_wnd.max(1)),
            rmt_wnd: u32::from(t.rcv_wnd.max(1)),
            cwnd: 0,
            probe: 0,
            current: 0,
            interval: 100,
            ts_flush: 100,
            nodelay: false,
            updated: false,
            ts_probe: 0,
            probe_wait: 0,
            dead_link: t.dead_link,
            incr: 0,
            fastresend: 0,
            nocwnd: false,
            snd_queue: VecDeque::new(),
            snd_buf: VecDeque::new(),
            rcv_buf: VecDeque::new(),
            rcv_queue: VecDeque::new(),
            acklist: Vec::new(),
            buf: Vec::new(),
            output: Vec::new(),
        };
        k.set_nodelay(t.nodelay, t.interval, t.resend, t.no_congestion);
        k
    }

    /// ikcp_nodelay.
    fn set_nodelay(&mut self, nodelay: bool, interval: u32, resend: u32, nc: bool) {
        self.nodelay = nodelay;
        self.rx_minrto = if nodelay { 30 } else { RTO_MIN };
        self.interval = interval.clamp(10, 5000);
        self.fastresend = resend;
        self.nocwnd = nc;
    }

    /// The largest payload of one segment.
    pub(crate) fn mss(&self) -> usize {
        self.mss
    }

    /// The send window in segments.
    pub(crate) fn snd_wnd(&self) -> usize {
        self.snd_wnd as usize
    }

    /// The peer's advertised receive window in segments.
    pub(crate) fn rmt_wnd(&self) -> usize {
        self.rmt_wnd as usize
    }

    /// Segments queued or in flight, not yet acknowledged.
    pub(crate) fn wait_snd(&self) -> usize {
        self.snd_buf.len() + self.snd_queue.len()
    }

    /// Bytes held in the send and receive queues, pending ACKs and the packet being built.
    pub(crate) fn buffered_bytes(&self) -> usize {
        let queued: usize = [
            &self.snd_queue,
            &self.snd_buf,
            &self.rcv_buf,
            &self.rcv_queue,
        ]
        .iter()
        .flat_map(|q| q.iter())
        .map(|s| s.data.len())
        .sum();
        queued + self.acklist.len() * 8 + self.buf.len()
    }

    /// True once a segment was retransmitted `dead_link` times without an ACK.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead
    }

    /// The packets emitted since the last call, each with `reserved` free bytes in front.
    pub(crate) fn take_output(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.output)
    }

    /// Size of the next whole message in the receive queue, if it is complete.
    pub(crate) fn peek_size(&self) -> Option<usize> {
        let first = self.rcv_queue.front()?;
        if first.frg == 0 {
            return Some(first.data.len());
        }
        if self.rcv_queue.len() < usize::from(first.frg) + 1 {
            return None;
        }
        let mut len = 0;
        for seg in &self.rcv_queue {
            len += seg.data.len();
            if seg.frg == 0 {
                break;
            }
        }
        Some(len)
    }

    /// Appends the next whole message to `out`; returns its size, or `None` if none is complete.
    pub(crate) fn recv(&mut self, out: &mut Vec<u8>) -> Option<usize> {
        let size = self.peek_size()?;
        let recover = self.rcv_queue.len() >= self.rcv_wnd as usize;
        while let Some(seg) = self.rcv_queue.pop_front() {
            out.extend_from_slice(&seg.data);
            if seg.frg == 0 {
                break;
            }
        }
        self.move_buf();
        if recover && self.rcv_queue.len() < self.rcv_wnd as usize {
            self.probe |= ASK_TELL;
        }
        Some(size)
    }

    /// Queues one message, split into at most 255 fragments of `mss` bytes.
    pub(crate) fn send(&mut self, data: &[u8]) -> Result<(), SendError> {
        let count = data.len().div_ceil(self.mss).max(1);
        if count > 255 {
            return Err(SendError::TooLarge);
        }
        let mut chunks = data.chunks(self.mss);
        for i in 0..count {
            let chunk = chunks.next().unwrap_or(&[]);
            self.snd_queue.push_back(Segment {
                frg: (count - i - 1) as u8,
                data: chunk.to_vec(),
                ..Segment::default()
            });
        }
        Ok(())
    }

    fn update_ack(&mut self, rtt: u32) {
        let rtt = rtt.min(RTO_MAX);
        if self.rx_srtt == 0 {
            self.rx_srtt = rtt;
            self.rx_rttval = rtt / 2;
        } else {
            let delta = rtt.abs_diff(self.rx_srtt);
            self.rx_rttval = (3 * self.rx_rttval + delta) / 4;
            self.rx_srtt = ((7 * self.rx_srtt + rtt) / 8).max(1);
        }
        let rto = self.rx_srtt + self.interval.max(4 * self.rx_rttval);
        self.rx_rto = rto.clamp(self.rx_minrto, RTO_MAX);
    }

    fn shrink_buf(&mut self) {
        self.snd_una = self.snd_buf.front().map_or(self.snd_nxt, |s| s.sn);
    }

    fn in_flight(&self, sn: u32) -> bool {
        timediff(sn, self.snd_una) >= 0 && timediff(sn, self.snd_nxt) < 0
    }

    fn parse_ack(&mut self, sn: u32) {
        if !self.in_flight(sn) {
            return;
        }
        if let Some(i) = self.snd_buf.iter().position(|s| s.sn == sn) {
            self.snd_buf.remove(i);
        }
    }

    fn parse_una(&mut self, una: u32) {
        while self
            .snd_buf
            .front()
            .is_some_and(|s| timediff(una, s.sn) > 0)
        {
            self.snd_buf.pop_front();
        }
    }

    fn parse_fastack(&mut self, sn: u32, ts: u32) {
        if !self.in_flight(sn) {
            return;
        }
        for seg in &mut self.snd_buf {
            if timediff(sn, seg.sn) < 0 {
                break;
            }
            if sn != seg.sn && timediff(ts, seg.ts) >= 0 {
                seg.fastack += 1;
            }
        }
    }

    fn parse_data(&mut self, seg: Segment) {
        let sn = seg.sn;
        if timediff(sn, self.rcv_nxt.wrapping_add(self.rcv_wnd)) >= 0
            || timediff(sn, self.rcv_nxt) < 0
        {
            return;
        }
        let mut at = self.rcv_buf.len();
        for (i, s) in self.rcv_buf.iter().enumerate().rev() {
            if s.sn == sn {
                return;
            }
            if timediff(sn, s.sn) > 0 {
                break;
            }
            at = i;
        }
        self.rcv_buf.insert(at, seg);
        self.move_buf();
    }

    fn move_buf(&mut self) {
        while self.rcv_queue.len() < self.rcv_wnd as usize
            && self.rcv_buf.front().is_some_and(|s| s.sn == self.rcv_nxt)
        {
            if let Some(seg) = self.rcv_buf.pop_front() {
                self.rcv_queue.push_back(seg);
                self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            }
        }
    }

    /// Feeds one KCP packet (one or more segments) from the peer.
    pub(crate) fn input(&mut self, mut data: &[u8]) -> Result<(), InputError> {
        if data.len() < OVERHEAD {
            return Err(InputError::Truncated);
        }
        let prev_una = self.snd_una;
        let mut latest_ack: Option<(u32, u32)> = None;
        while let Some(h) = Header::decode(data) {
            if h.conv != self.conv {
                return Err(InputError::WrongConv);
            }
            let body = &data[OVERHEAD..];
            let len = usize::try_from(h.len).unwrap_or(usize::MAX);
            if body.len() < len {
                return Err(InputError::Truncated);
            }
            if !matches!(h.cmd, CMD_PUSH | CMD_ACK | CMD_WASK | CMD_WINS) {
                return Err(InputError::UnknownCmd);
            }
            self.rmt_wnd = u32::from(h.wnd);
            self.parse_una(h.una);
            self.shrink_buf();
            match h.cmd {
                CMD_ACK => {
                    let rtt = timediff(self.current, h.ts);
                    if rtt >= 0 {
                        self.update_ack(rtt as u32);
                    }
                    self.parse_ack(h.sn);
                    self.shrink_buf();
                    latest_ack = match latest_ack {
                        None => Some((h.sn, h.ts)),
                        Some((sn, ts)) if timediff(h.sn, sn) > 0 && timediff(h.ts, ts) > 0 => {
                            Some((h.sn, h.ts))
                        }
                        keep => keep,
                    };
                }
                CMD_PUSH => self.input_push(h, &body[..len]),
                CMD_WASK => self.probe |= ASK_TELL,
                _ => {}
            }
            data = &body[len..];
        }
        if let Some((sn, ts)) = latest_ack {
            self.parse_fastack(sn, ts);
        }
        if timediff(self.snd_una, prev_una) > 0 {
            self.grow_cwnd();
        }
        Ok(())
    }

    fn input_push(&mut self, h: Header, payload: &[u8]) {
        if timediff(h.sn, self.rcv_nxt.wrapping_add(self.rcv_wnd)) >= 0 {
            return;
        }
        if self.acklist.len() < MAX_ACKLIST {
            self.acklist.push((h.sn, h.ts));
        }
        if timediff(h.sn, self.rcv_nxt) >= 0 {
            self.parse_data(Segment {
                frg: h.frg,
                ts: h.ts,
                sn: h.sn,
                data: payload.to_vec(),
                ..Segment::default()
            });
        }
    }

    fn grow_cwnd(&mut self) {
        if self.cwnd >= self.rmt_wnd {
            return;
        }
        let mss = self.mss;
        if self.cwnd < self.ssthresh {
            self.cwnd += 1;
            self.incr += mss;
        } else {
            self.incr = self.incr.max(mss);
            self.incr += (mss * mss) / self.incr + mss / 16;
            if (self.cwnd as usize + 1) * mss <= self.incr {
                self.cwnd = u32::try_from(self.incr.div_ceil(mss)).unwrap_or(u32::MAX);
            }
        }
        if self.cwnd > self.rmt_wnd {
            self.cwnd = self.rmt_wnd;
            self.incr = self.rmt_wnd as usize * mss;
        }
    }

    fn wnd_unused(&self) -> u16 {
        let used = self.rcv_queue.len() as u32;
        u16::try_from(self.rcv_wnd.saturating_sub(used)).unwrap_or(u16::MAX)
    }

    /// Room for `need` more bytes in the packet being built, else emit it first.
    fn make_room(&mut self, need: usize) {
        if self.buf.len() > self.reserved && self.buf.len() + need > self.mtu {
            self.emit();
        }
        if self.buf.is_empty() {
            self.buf.resize(self.reserved, 0);
        }
    }

    fn emit(&mut self) {
        if self.buf.len() > self.reserved {
            let mut full = std::mem::take(&mut self.buf);
            full.shrink_to_fit();
            self.output.push(full);
        }
        self.buf.clear();
    }

    /// ikcp_update: call every `interval` ms (or at [`Kcp::check`]); flushes when due.
    pub(crate) fn update(&mut self, current: u32) {
        self.current = current;
        if !self.updated {
            self.updated = true;
            self.ts_flush = current;
        }
        let mut slap = timediff(current, self.ts_flush);
        if !(-10_000..10_000).contains(&slap) {
            self.ts_flush = current;
            slap = 0;
        }
        if slap >= 0 {
            self.ts_flush = self.ts_flush.wrapping_add(self.interval);
            if timediff(current, self.ts_flush) >= 0 {
                self.ts_flush = current.wrapping_add(self.interval);
            }
            self.flush();
        }
    }

    /// ikcp_check: when [`Kcp::update`] should next run.
    pub(crate) fn check(&self, current: u32) -> u32 {
        if !self.updated {
            return current;
        }
        let mut ts_flush = self.ts_flush;
        if !(-10_000..10_000).contains(&timediff(current, ts_flush)) {
            ts_flush = current;
        }
        if timediff(current, ts_flush) >= 0 {
            return current;
        }
        let mut minimal = timediff(ts_flush, current);
        for seg in &self.snd_buf {
            let diff = timediff(seg.resendts, current);
            if diff <= 0 {
                return current;
            }
            minimal = minimal.min(diff);
        }
        current.wrapping_add((minimal as u32).min(self.interval))
    }

    /// Sets the clock without flushing (kcp-go sets `kcp.current` before `flush` on writes).
    pub(crate) fn set_current(&mut self, current: u32) {
        self.current = current;
    }

    /// ikcp_flush: emits ACKs, window probes, new data and due retransmissions.
    pub(crate) fn flush(&mut self) {
        if !self.updated {
            return;
        }
        let base = Header {
            conv: self.conv,
            cmd: CMD_ACK,
            wnd: self.wnd_unused(),
            una: self.rcv_nxt,
            ..Header::default()
        };
        self.flush_acks(base);
        self.flush_probes(base);
        self.queue_to_flight();
        self.flush_data(base);
        self.emit();
    }

    fn flush_acks(&mut self, base: Header) {
        for (sn, ts) in std::mem::take(&mut self.acklist) {
            self.make_room(OVERHEAD);
            Header { sn, ts, ..base }.encode(&mut self.buf);
        }
    }

    fn flush_probes(&mut self, base: Header) {
        if self.rmt_wnd == 0 {
            if self.probe_wait == 0 {
                self.probe_wait = PROBE_INIT;
                self.ts_probe = self.current.wrapping_add(self.probe_wait);
            } else if timediff(self.current, self.ts_probe) >= 0 {
                self.probe_wait = self.probe_wait.max(PROBE_INIT);
                self.probe_wait = (self.probe_wait + self.probe_wait / 2).min(PROBE_LIMIT);
                self.ts_probe = self.current.wrapping_add(self.probe_wait);
                self.probe |= ASK_SEND;
            }
        } else {
            self.ts_probe = 0;
            self.probe_wait = 0;
        }
        for (bit, cmd) in [(ASK_SEND, CMD_WASK), (ASK_TELL, CMD_WINS)] {
            if self.probe & bit != 0 {
                self.make_room(OVERHEAD);
                Header { cmd, ..base }.encode(&mut self.buf);
            }
        }
        self.probe = 0;
    }

    fn queue_to_flight(&mut self) {
        let mut cwnd = self.snd_wnd.min(self.rmt_wnd);
        if !self.nocwnd {
            cwnd = cwnd.min(self.cwnd);
        }
        while timediff(self.snd_nxt, self.snd_una.wrapping_add(cwnd)) < 0 {
            let Some(mut seg) = self.snd_queue.pop_front() else {
                break;
            };
            seg.ts = self.current;
            seg.sn = self.snd_nxt;
            seg.resendts = self.current;
            seg.rto = self.rx_rto;
            self.snd_nxt = self.snd_nxt.wrapping_add(1);
            self.snd_buf.push_back(seg);
        }
    }

    fn flush_data(&mut self, base: Header) {
        let resent = if self.fastresend > 0 {
            self.fastresend
        } else {
            u32::MAX
        };
        let rtomin = if self.nodelay { 0 } else { self.rx_rto >> 3 };
        let (mut change, mut lost) = (false, false);
        let current = self.current;
        let mut bufs = std::mem::take(&mut self.snd_buf);
        for seg in bufs.iter_mut() {
            let mut send = false;
            if seg.xmit == 0 {
                send = true;
                seg.xmit = 1;
                seg.rto = self.rx_rto;
                seg.resendts = current.wrapping_add(seg.rto).wrapping_add(rtomin);
            } else if timediff(current, seg.resendts) >= 0 {
                send = true;
                seg.xmit += 1;
                seg.rto += if self.nodelay {
                    seg.rto / 2
                } else {
                    seg.rto.max(self.rx_rto)
                };
                seg.rto = seg.rto.min(RTO_MAX * 2);
                seg.resendts = current.wrapping_add(seg.rto);
                lost = true;
            } else if seg.fastack >= resent && seg.xmit <= FASTACK_LIMIT {
                send = true;
                seg.xmit += 1;
                seg.fastack = 0;
                seg.resendts = current.wrapping_add(seg.rto);
                change = true;
            }
            if send {
                seg.ts = current;
                self.make_room(OVERHEAD + seg.data.len());
                let h = Header {
                    cmd: CMD_PUSH,
                    frg: seg.frg,
                    ts: seg.ts,
                    sn: seg.sn,
                    len: seg.data.len() as u32,
                    ..base
                };
                h.encode(&mut self.buf);
                self.buf.extend_from_slice(&seg.data);
                if seg.xmit >= self.dead_link {
                    self.dead = true;
                }
            }
        }
        self.snd_buf = bufs;
        self.adjust_cwnd(change, lost, resent);
    }

    fn adjust_cwnd(&mut self, change: bool, lost: bool, resent: u32) {
        if change {
            let inflight = self.snd_nxt.wrapping_sub(self.snd_una);
            self.ssthresh = (inflight / 2).max(THRESH_MIN);
            self.cwnd = self.ssthresh.saturating_add(resent);
            self.incr = self.cwnd as usize * self.mss;
        }
        if lost {
            self.ssthresh = (self.cwnd / 2).max(THRESH_MIN);
            self.cwnd = 1;
            self.incr = self.mss;
        }
        if self.cwnd < 1 {
            self.cwnd = 1;
            self.incr = self.mss;
        }
    }
}
