//! `fastrpc dump --pcap FILE`: the frames of every rpcx TCP connection in a capture.

use super::capture::for_each_packet;
use super::frame::{Direction, Pending};
use super::reassembly::Stream;
use super::tap::{Printer, Tap};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// Link types (tcpdump's `LINKTYPE_*`) this reads.
mod link {
    pub(super) const NULL: u32 = 0;
    pub(super) const ETHERNET: u32 = 1;
    pub(super) const RAW: u32 = 101;
    pub(super) const LINUX_SLL: u32 = 113;
    pub(super) const IPV4: u32 = 228;
    pub(super) const IPV6: u32 = 229;
    pub(super) const LINUX_SLL2: u32 = 276;
}

/// One TCP segment out of a packet.
struct Segment<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    ack: bool,
    data: &'a [u8],
}

/// Both directions of one connection.
struct Conn {
    /// The side that connected (sent the SYN), or the higher port when the capture starts
    /// after the handshake.
    client: SocketAddr,
    up: (Stream, Tap),
    down: (Stream, Tap),
}

/// Prints the frames of `path`. `port`, when given, keeps only connections to that port.
pub(crate) fn run(path: &str, port: Option<u16>, printer: Printer) -> anyhow::Result<()> {
    let mut conns: HashMap<(SocketAddr, SocketAddr), Conn> = HashMap::new();
    let mut ids = 0u64;
    let mut bytes = Vec::new();
    for_each_packet(path, |link, packet| {
        let Some(seg) = segment(link, packet) else {
            return;
        };
        if port.is_some_and(|p| seg.src.port() != p && seg.dst.port() != p) {
            return;
        }
        let key = ordered(seg.src, seg.dst);
        let conn = conns.entry(key).or_insert_with(|| {
            ids += 1;
            let client = if seg.syn && !seg.ack {
                seg.src
            } else if seg.syn {
                seg.dst
            } else if seg.src.port() > seg.dst.port() {
                seg.src
            } else {
                seg.dst
            };
            let pending = Arc::new(Mutex::new(Pending::default()));
            let tap = |d| Tap::new(ids, d, pending.clone(), printer.clone());
            Conn {
                client,
                up: (Stream::default(), tap(Direction::ToServer)),
                down: (Stream::default(), tap(Direction::ToClient)),
            }
        });
        let (stream, tap) = if seg.src == conn.client {
            &mut conn.up
        } else {
            &mut conn.down
        };
        if seg.syn {
            stream.syn(seg.seq);
            return;
        }
        bytes.clear();
        stream.segment(seg.seq, seg.data, &mut bytes);
        tap.feed(&bytes);
    })
}

fn ordered(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The TCP segment in a packet of link type `link`, if it holds one.
fn segment(link: u32, packet: &[u8]) -> Option<Segment<'_>> {
    let sliced = match link {
        link::ETHERNET => SlicedPacket::from_ethernet(packet).ok()?,
        link::NULL => SlicedPacket::from_ip(packet.get(4..)?).ok()?,
        link::LINUX_SLL => SlicedPacket::from_ip(packet.get(16..)?).ok()?,
        link::LINUX_SLL2 => SlicedPacket::from_ip(packet.get(20..)?).ok()?,
        link::RAW | link::IPV4 | link::IPV6 => SlicedPacket::from_ip(packet).ok()?,
        _ => return None,
    };
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match sliced.net? {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    let TransportSlice::Tcp(tcp) = sliced.transport? else {
        return None;
    };
    Some(Segment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        data: tcp.payload(),
    })
}
