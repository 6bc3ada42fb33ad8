//! One kcp-go session without I/O: KCP plus FEC plus the crypt, turning KCP packets into sealed
//! datagrams and opened FEC packets into KCP input.

use std::sync::atomic::AtomicU64;

use crate::config::KcpConfig;
use crate::crypt::BlockCrypt;
use crate::fec::{FecDecoder, FecEncoder};
use crate::kcp::Kcp;
use crate::stats::Counters;
use crate::wire::{FLAG_DATA, FecPacket, seal};

/// What a session's input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// Accepted (or harmlessly ignored, like a late parity shard).
    Ok,
    /// The KCP bytes did not parse or belong to another conv.
    Malformed,
}

pub(crate) struct SessionCore {
    kcp: Kcp,
    enc: FecEncoder,
    dec: FecDecoder,
    crypt: BlockCrypt,
    ack_nodelay: bool,
    out: Vec<Vec<u8>>,
}

impl SessionCore {
    /// A session for `conv`, updated once at `now` so that it can send at once.
    pub(crate) fn new(conv: u32, cfg: &KcpConfig, now: u32) -> SessionCore {
        let mut kcp = Kcp::new(conv, cfg.tuning());
        kcp.update(now);
        SessionCore {
            kcp,
            enc: FecEncoder::new(),
            dec: FecDecoder::new(),
            crypt: cfg.crypt.clone(),
            ack_nodelay: cfg.ack_nodelay,
            out: Vec::new(),
        }
    }

    pub(crate) fn kcp(&self) -> &Kcp {
        &self.kcp
    }

    /// Feeds one opened FEC packet: a data shard goes to KCP at once; parity only rebuilds lost
    /// data shards, which then go to KCP too.
    pub(crate) fn input(&mut self, pkt: &FecPacket<'_>, now: u32, counters: &Counters) -> Input {
        self.kcp.set_current(now);
        let mut verdict = Input::Ok;
        if pkt.flag == FLAG_DATA {
            let Some(kcp) = pkt.kcp_payload() else {
                return Input::Malformed;
            };
            if self.kcp.input(kcp).is_err() {
                verdict = Input::Malformed;
            }
        } else {
            Counters::add(&counters.fec_parity_in, 1);
        }
        let decoded = self.dec.decode(pkt);
        add(&counters.dropped_malformed, decoded.errors);
        add(&counters.fec_recovered, decoded.recovered.len());
        for kcp in decoded.recovered {
            // A rebuilt shard that does not parse was counted by the peer's own garbage; ignore.
            let _ = self.kcp.input(&kcp);
        }
        if self.ack_nodelay {
            self.kcp.flush();
            self.seal_output();
        }
        verdict
    }

    /// Queues up to one send window of `buf` as KCP messages of at most one MSS each (as kcp-go's
    /// `Write` does), flushes, and returns how many bytes were taken; 0 when the window is full.
    pub(crate) fn write(&mut self, buf: &[u8], now: u32) -> usize {
        let waiting = self.kcp.wait_snd();
        let limit = self.kcp.snd_wnd().min(self.kcp.rmt_wnd().max(1));
        if waiting >= limit {
            return 0;
        }
        let mss = self.kcp.mss();
        let take = buf.len().min((limit - waiting) * mss);
        for chunk in buf[..take].chunks(mss) {
            if self.kcp.send(chunk).is_err() {
                unreachable!("a chunk of one MSS is one fragment");
            }
        }
        self.kcp.set_current(now);
        self.kcp.flush();
        self.seal_output();
        take
    }

    /// True while the send window has room for [`SessionCore::write`].
    pub(crate) fn writable(&self) -> bool {
        self.kcp.wait_snd() < self.kcp.snd_wnd().min(self.kcp.rmt_wnd().max(1))
    }

    /// Runs KCP's timer; returns when it next wants to run.
    pub(crate) fn update(&mut self, now: u32) -> u32 {
        self.kcp.update(now);
        self.seal_output();
        self.kcp.check(now)
    }

    /// Appends the next whole received message to `out`.
    pub(crate) fn recv(&mut self, out: &mut Vec<u8>) -> Option<usize> {
        self.kcp.recv(out)
    }

    /// Stamps KCP's new packets with the FEC header (plus parity) and seals them.
    fn seal_output(&mut self) {
        for mut d in self.kcp.take_output() {
            let parity = self.enc.encode(&mut d);
            seal(&self.crypt, &mut d);
            self.out.push(d);
            for mut p in parity {
                seal(&self.crypt, &mut p);
                self.out.push(p);
            }
        }
    }

    /// Bytes this session holds for its peer: KCP's queues, FEC groups, unsent datagrams.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.kcp.buffered_bytes()
            + self.dec.held_bytes()
            + self.out.iter().map(Vec::len).sum::<usize>()
    }

    /// The sealed datagrams ready for the socket.
    pub(crate) fn take_datagrams(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.out)
    }
}

fn add(c: &AtomicU64, n: usize) {
    Counters::add(c, n as u64);
}
