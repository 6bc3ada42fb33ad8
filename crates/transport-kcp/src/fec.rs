//! kcp-go's forward error correction: Reed-Solomon (10, 3) over groups of 13 consecutive seqids.
//!
//! The encoder stamps each outgoing datagram as a data shard and, after every 10, emits 3 parity
//! datagrams computed over the data shards' bytes from the size field on, zero-padded to the
//! longest. The decoder hands nothing to KCP itself: data shards go to KCP at once (the caller
//! does that), and the decoder only returns data shards it rebuilt from parity.

use std::collections::BTreeMap;

use reed_solomon_erasure::galois_8::ReedSolomon;

use crate::wire::{
    CRYPT_HEADER_SIZE, DATA_SHARDS, FEC_HEADER_SIZE, FLAG_DATA, FLAG_PARITY, FecPacket,
    PARITY_SHARDS, shard_payload,
};

const SHARDS: usize = DATA_SHARDS + PARITY_SHARDS;
/// Groups the decoder keeps open at once (kcp-go keeps `rxFECMulti` = 3 groups' worth).
const OPEN_GROUPS: usize = 3;
/// Seqids wrap here so that a group never straddles the wrap (kcp-go's `paws`).
const PAWS: u32 = u32::MAX / SHARDS as u32 * SHARDS as u32;

fn rs() -> ReedSolomon {
    match ReedSolomon::new(DATA_SHARDS, PARITY_SHARDS) {
        Ok(rs) => rs,
        Err(_) => unreachable!("(10, 3) is a valid Reed-Solomon code"),
    }
}

/// Stamps outgoing datagrams and produces parity datagrams.
pub(crate) struct FecEncoder {
    rs: ReedSolomon,
    next: u32,
    /// The current group's data shards, from the size field on.
    shards: Vec<Vec<u8>>,
}

impl FecEncoder {
    pub(crate) fn new() -> FecEncoder {
        FecEncoder {
            rs: rs(),
            next: 0,
            shards: Vec::with_capacity(DATA_SHARDS),
        }
    }

    fn take_seqid(&mut self) -> u32 {
        let id = self.next;
        self.next = (self.next + 1) % PAWS;
        id
    }

    /// Writes the FEC header and size field into `datagram` (which has 28 header bytes in front of
    /// its KCP bytes) and returns the parity datagrams this data shard completes, if any (each
    /// with 20 free bytes in front for the crypt header).
    pub(crate) fn encode(&mut self, datagram: &mut [u8]) -> Vec<Vec<u8>> {
        let seqid = self.take_seqid();
        let h = CRYPT_HEADER_SIZE;
        datagram[h..h + 4].copy_from_slice(&seqid.to_le_bytes());
        datagram[h + 4..h + 6].copy_from_slice(&FLAG_DATA.to_le_bytes());
        let body = &mut datagram[h + FEC_HEADER_SIZE..];
        let size = u16::try_from(body.len()).unwrap_or(u16::MAX);
        body[..2].copy_from_slice(&size.to_le_bytes());
        self.shards.push(body.to_vec());
        if self.shards.len() < DATA_SHARDS {
            return Vec::new();
        }
        self.parity()
    }

    fn parity(&mut self) -> Vec<Vec<u8>> {
        let mut data = std::mem::take(&mut self.shards);
        let max = data.iter().map(Vec::len).max().unwrap_or(0);
        for d in &mut data {
            d.resize(max, 0);
        }
        let mut parity = vec![vec![0u8; max]; PARITY_SHARDS];
        if self.rs.encode_sep(&data, &mut parity).is_err() {
            // Equal lengths were just made; keep the seqids aligned regardless.
            self.next = (self.next + PARITY_SHARDS as u32) % PAWS;
            return Vec::new();
        }
        parity
            .into_iter()
            .map(|p| {
                let seqid = self.take_seqid();
                let mut out = vec![0u8; CRYPT_HEADER_SIZE];
                out.extend_from_slice(&seqid.to_le_bytes());
                out.extend_from_slice(&FLAG_PARITY.to_le_bytes());
                out.extend_from_slice(&p);
                out
            })
            .collect()
    }
}

struct Group {
    shards: Vec<Option<Vec<u8>>>,
    received: usize,
    data: usize,
}

/// Collects shards per group and rebuilds lost data shards from parity.
pub(crate) struct FecDecoder {
    rs: ReedSolomon,
    groups: BTreeMap<u32, Group>,
    /// The newest group already resolved; older shards are ignored.
    done: Option<u32>,
}

/// What one shard yielded.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    /// KCP packets of data shards rebuilt from parity.
    pub(crate) recovered: Vec<Vec<u8>>,
    /// Rebuilt shards whose size field made no sense.
    pub(crate) errors: usize,
}

impl FecDecoder {
    pub(crate) fn new() -> FecDecoder {
        FecDecoder {
            rs: rs(),
            groups: BTreeMap::new(),
            done: None,
        }
    }

    /// Takes one shard (data or parity). Shards whose flag does not match their position in the
    /// group (a peer with other FEC parameters) are ignored.
    pub(crate) fn decode(&mut self, pkt: &FecPacket<'_>) -> Decoded {
        let index = (pkt.seqid % SHARDS as u32) as usize;
        let gid = pkt.seqid / SHARDS as u32;
        let expect = if index < DATA_SHARDS {
            FLAG_DATA
        } else {
            FLAG_PARITY
        };
        if pkt.flag != expect {
            return Decoded::default();
        }
        if self.done.is_some_and(|d| (gid.wrapping_sub(d) as i32) <= 0) {
            return Decoded::default();
        }
        let group = self.groups.entry(gid).or_insert_with(|| Group {
            shards: vec![None; SHARDS],
            received: 0,
            data: 0,
        });
        if group.shards[index].is_some() {
            return Decoded::default();
        }
        group.shards[index] = Some(pkt.body.to_vec());
        group.received += 1;
        if pkt.flag == FLAG_DATA {
            group.data += 1;
        }
        let out = if group.received >= DATA_SHARDS {
            let out = self.resolve(gid);
            self.done = Some(gid);
            self.groups.retain(|&g, _| (g.wrapping_sub(gid) as i32) > 0);
            out
        } else {
            Decoded::default()
        };
        self.bound();
        out
    }

    fn resolve(&mut self, gid: u32) -> Decoded {
        let Some(mut group) = self.groups.remove(&gid) else {
            return Decoded::default();
        };
        if group.data == DATA_SHARDS {
            return Decoded::default();
        }
        let missing: Vec<usize> = (0..DATA_SHARDS)
            .filter(|&i| group.shards[i].is_none())
            .collect();
        let max = group
            .shards
            .iter()
            .flatten()
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        for s in group.shards.iter_mut().flatten() {
            s.resize(max, 0);
        }
        let mut out = Decoded::default();
        if self.rs.reconstruct_data(&mut group.shards).is_err() {
            out.errors += 1;
            return out;
        }
        for i in missing {
            match group.shards[i].as_deref().map(shard_payload) {
                Some(Ok(kcp)) => out.recovered.push(kcp.to_vec()),
                _ => out.errors += 1,
            }
        }
        out
    }

    /// Keeps at most [`OPEN_GROUPS`] groups: a peer cannot make the decoder hold more.
    fn bound(&mut self) {
        while self.groups.len() > OPEN_GROUPS {
            let oldest = self
                .groups
                .keys()
                .copied()
                .min_by_key(|&g| self.done.map_or(g, |d| g.wrapping_sub(d)));
            match oldest {
                Some(g) => {
                    self.groups.remove(&g);
                }
                None => break,
            }
        }
    }

    /// Bytes held in open groups (for accounting).
    pub(crate) fn held_bytes(&self) -> usize {
        self.groups
            .values()
            .flat_map(|g| g.shards.iter().flatten())
            .map(Vec::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::HEADER_SIZE;

    fn data_datagram(kcp: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; HEADER_SIZE];
        d.extend_from_slice(kcp);
        d
    }

    fn packets(enc: &mut FecEncoder, n: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let (mut sent, mut kcp) = (Vec::new(), Vec::new());
        for i in 0..n {
            let payload: Vec<u8> = (0..(30 + i * 7)).map(|b| (b + i) as u8).collect();
            let mut d = data_datagram(&payload);
            let parity = enc.encode(&mut d);
            sent.push(d);
            kcp.push(payload);
            sent.extend(parity);
        }
        (sent, kcp)
    }

    #[test]
    fn seqids_and_flags_follow_kcp_go() {
        let mut enc = FecEncoder::new();
        let (sent, _) = packets(&mut enc, 20);
        assert_eq!(sent.len(), 26);
        for (i, d) in sent.iter().enumerate() {
            let p = FecPacket::parse(&d[CRYPT_HEADER_SIZE..]).unwrap();
            assert_eq!(p.seqid, i as u32);
            let want = if i % 13 < 10 { FLAG_DATA } else { FLAG_PARITY };
            assert_eq!(p.flag, want);
        }
    }

    #[test]
    fn parity_rebuilds_three_lost_data_shards() {
        let mut enc = FecEncoder::new();
        let (sent, kcp) = packets(&mut enc, 10);
        let mut dec = FecDecoder::new();
        let mut recovered = Vec::new();
        for (i, d) in sent.iter().enumerate() {
            if [1, 4, 9].contains(&i) {
                continue;
            }
            let p = FecPacket::parse(&d[CRYPT_HEADER_SIZE..]).unwrap();
            recovered.extend(dec.decode(&p).recovered);
        }
        assert_eq!(
            recovered,
            vec![kcp[1].clone(), kcp[4].clone(), kcp[9].clone()]
        );
        assert_eq!(dec.held_bytes(), 0);
    }

    fn vector(name: &str) -> Vec<u8> {
        let text = include_str!("../tests/data/vectors.txt");
        let hex = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The parity bytes equal those of klauspost/reedsolomon's matrix, as the Python script
    /// builds it from its definition.
    #[test]
    fn parity_bytes_match_klauspost_matrix_from_python() {
        let mut enc = FecEncoder::new();
        let mut parity = Vec::new();
        for i in 0..10 {
            let body = vector(&format!("group_body_{i}"));
            let mut d = vec![0u8; CRYPT_HEADER_SIZE + FEC_HEADER_SIZE];
            d.extend_from_slice(&body);
            parity = enc.encode(&mut d);
            assert_eq!(&d[CRYPT_HEADER_SIZE + FEC_HEADER_SIZE..], &body[..]);
        }
        assert_eq!(parity.len(), 3);
        for (i, p) in parity.iter().enumerate() {
            let want = vector(&format!("group_parity_plain_{i}"));
            assert_eq!(
                &p[CRYPT_HEADER_SIZE + FEC_HEADER_SIZE..],
                &want[..],
                "parity {i}"
            );
        }
    }

    #[test]
    fn decoder_holds_a_bounded_number_of_groups() {
        let mut dec = FecDecoder::new();
        let body = vec![0u8; 1400];
        for g in 0..100u32 {
            let p = FecPacket {
                seqid: g * 13 * 2,
                flag: FLAG_DATA,
                body: &body,
            };
            dec.decode(&p);
        }
        assert!(dec.held_bytes() <= OPEN_GROUPS * 1400);
    }
}
