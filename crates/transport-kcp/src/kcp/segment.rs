//! The 24-byte KCP segment header (ikcp.c's `ikcp_encode_seg`), little-endian on the wire.

/// Bytes of one KCP segment header: conv, cmd, frg, wnd, ts, sn, una, len.
pub(crate) const OVERHEAD: usize = 24;

/// Push data.
pub(crate) const CMD_PUSH: u8 = 81;
/// Acknowledge one segment.
pub(crate) const CMD_ACK: u8 = 82;
/// Ask the peer for its window size.
pub(crate) const CMD_WASK: u8 = 83;
/// Tell the peer our window size.
pub(crate) const CMD_WINS: u8 = 84;

/// The header fields of one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) conv: u32,
    pub(crate) cmd: u8,
    pub(crate) frg: u8,
    pub(crate) wnd: u16,
    pub(crate) ts: u32,
    pub(crate) sn: u32,
    pub(crate) una: u32,
    pub(crate) len: u32,
}

impl Header {
    /// Appends the header to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.conv.to_le_bytes());
        out.push(self.cmd);
        out.push(self.frg);
        out.extend_from_slice(&self.wnd.to_le_bytes());
        out.extend_from_slice(&self.ts.to_le_bytes());
        out.extend_from_slice(&self.sn.to_le_bytes());
        out.extend_from_slice(&self.una.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
    }

    /// Reads a header from the first 24 bytes of `b`, or `None` if `b` is shorter.
    pub(crate) fn decode(b: &[u8]) -> Option<Header> {
        let b: &[u8; OVERHEAD] = b.get(..OVERHEAD)?.try_into().ok()?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(Header {
            conv: u32_at(0),
            cmd: b[4],
            frg: b[5],
            wnd: u16::from_le_bytes([b[6], b[7]]),
            ts: u32_at(8),
            sn: u32_at(12),
            una: u32_at(16),
            len: u32_at(20),
        })
    }
}

/// Reads the conv id of the first segment in a KCP packet.
pub(crate) fn peek_conv(b: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?))
}

/// True if the packet holds a PUSH segment whose sn lies in a fresh conversation's first receive
/// window: what a new peer's first datagram looks like, and what traffic of a conversation this
/// side already forgot (whose sn has moved on) does not.
pub(crate) fn starts_conversation(mut b: &[u8], window: u16) -> bool {
    while let Some(h) = Header::decode(b) {
        if h.cmd == CMD_PUSH && h.sn < u32::from(window) {
            return true;
        }
        let len = usize::try_from(h.len).unwrap_or(usize::MAX);
        match b.get(OVERHEAD..).and_then(|rest| rest.get(len..)) {
            Some(rest) => b = rest,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_little_endian() {
        let h = Header {
            conv: 0x0102_0304,
            cmd: CMD_PUSH,
            frg: 2,
            wnd: 32,
            ts: 7,
            sn: 9,
            una: 8,
            len: 5,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), OVERHEAD);
        assert_eq!(&out[..4], &[4, 3, 2, 1]);
        assert_eq!(out[4], 81);
        assert_eq!(Header::decode(&out), Some(h));
        assert_eq!(Header::decode(&out[..23]), None);
    }
}
