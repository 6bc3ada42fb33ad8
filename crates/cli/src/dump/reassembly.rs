//! TCP stream reassembly for `dump --pcap`: segments in sequence order, retransmissions
//! dropped, gaps held back (within a byte budget) until they fill.

use std::collections::BTreeMap;

/// Out-of-order bytes held per direction at most; beyond it the gap is given up on.
const MAX_HELD_BYTES: usize = 8 * 1024 * 1024;

/// One direction of one TCP connection.
#[derive(Default)]
pub(crate) struct Stream {
    /// The sequence number of the next byte expected, once known.
    next: Option<u32>,
    /// Segments beyond `next`, by sequence number.
    held: BTreeMap<u32, Vec<u8>>,
    held_bytes: usize,
}

impl Stream {
    /// A SYN with sequence number `seq`: data starts at `seq + 1`.
    pub(crate) fn syn(&mut self, seq: u32) {
        self.next = Some(seq.wrapping_add(1));
        self.held.clear();
        self.held_bytes = 0;
    }

    /// A segment: returns the bytes that are now in order, in order.
    pub(crate) fn segment(&mut self, seq: u32, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let next = *self.next.get_or_insert(seq);
        // Offset of the segment from `next`, in the window around it.
        let mut off = seq.wrapping_sub(next) as i32;
        if off > 0 {
            if self.held_bytes + data.len() <= MAX_HELD_BYTES {
                self.held_bytes += data.len();
                self.held.insert(seq, data.to_vec());
                return;
            }
            // A gap that never fills (the capture lost packets): give up on what is held
            // and go on from this segment.
            self.held.clear();
            self.held_bytes = 0;
            self.next = Some(seq);
            off = 0;
        }
        let skip = (-off).max(0) as usize;
        if skip < data.len() {
            out.extend_from_slice(&data[skip..]);
            self.next = Some(seq.wrapping_add(data.len() as u32));
        }
        self.drain_held(out);
    }

    fn drain_held(&mut self, out: &mut Vec<u8>) {
        while let Some(next) = self.next {
            let Some((&seq, _)) = self
                .held
                .iter()
                .find(|(s, _)| (s.wrapping_sub(next) as i32) <= 0)
            else {
                return;
            };
            let data = self.held.remove(&seq).unwrap_or_default();
            self.held_bytes -= data.len();
            let skip = next.wrapping_sub(seq) as usize;
            if skip < data.len() {
                out.extend_from_slice(&data[skip..]);
                self.next = Some(seq.wrapping_add(data.len() as u32));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorders_and_drops_retransmissions() {
        let mut s = Stream::default();
        let mut out = Vec::new();
        s.syn(99);
        s.segment(103, b"def", &mut out);
        assert!(out.is_empty());
        s.segment(100, b"abc", &mut out);
        s.segment(100, b"abc", &mut out);
        s.segment(105, b"fgh", &mut out);
        assert_eq!(out, b"abcdefgh");
    }

    #[test]
    fn wraps_around() {
        let mut s = Stream::default();
        let mut out = Vec::new();
        s.syn(u32::MAX - 1);
        s.segment(u32::MAX, b"ab", &mut out);
        s.segment(1, b"c", &mut out);
        assert_eq!(out, b"abc");
    }
}
