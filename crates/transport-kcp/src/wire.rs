//! The kcp-go datagram as rpcx uses it (`rpcx-protocol.md` §3.6):
//!
//! ```text
//! | nonce 16 | crc32 4 | seqid 4 | flag 2 | size 2 (data only) | KCP segments ... |
//! |<---- crypt header 20 ---->|<-- FEC header 6 -->|
//! ```
//!
//! The CRC32 (IEEE, little-endian) covers every byte after offset 20; the whole datagram, nonce
//! included, is then encrypted in place with the [`BlockCrypt`].

use crate::crypt::BlockCrypt;

/// Bytes of random nonce at the front of each datagram.
pub const NONCE_SIZE: usize = 16;
/// Bytes of CRC32 after the nonce.
pub const CRC_SIZE: usize = 4;
/// Nonce plus CRC32.
pub const CRYPT_HEADER_SIZE: usize = NONCE_SIZE + CRC_SIZE;
/// FEC seqid (u32 LE) plus flag (u16 LE).
pub const FEC_HEADER_SIZE: usize = 6;
/// The data shard's size field (u16 LE, counting its own 2 bytes).
pub const FEC_SIZE_FIELD: usize = 2;
/// Everything in front of the KCP segments of a data shard: 28 bytes.
pub const HEADER_SIZE: usize = CRYPT_HEADER_SIZE + FEC_HEADER_SIZE + FEC_SIZE_FIELD;
/// The flag of a data shard.
pub const FLAG_DATA: u16 = 0xf1;
/// The flag of a parity shard.
pub const FLAG_PARITY: u16 = 0xf2;
/// kcp-go's MTU: the largest datagram written.
pub const MTU: usize = 1400;
/// The KCP MSS inside that MTU: 1400 - 24 - 28.
pub const MSS: usize = MTU - 24 - HEADER_SIZE;
/// Reed-Solomon data shards per FEC group (rpcx passes 10).
pub const DATA_SHARDS: usize = 10;
/// Reed-Solomon parity shards per FEC group (rpcx passes 3).
pub const PARITY_SHARDS: usize = 3;
/// The largest datagram read; kcp-go's `mtuLimit`.
pub const MAX_DATAGRAM: usize = 1500;

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatagramError {
    /// Shorter than the headers plus one KCP segment header.
    #[error("datagram of {0} bytes is too short")]
    TooShort(usize),
    /// The CRC32 does not match: corruption, or another key.
    #[error("datagram checksum mismatch (corrupt, or encrypted under another key)")]
    Checksum,
    /// The FEC flag is neither 0xf1 nor 0xf2.
    #[error("unknown FEC flag {0:#x}")]
    FecFlag(u16),
    /// A data shard's size field does not fit the datagram.
    #[error("data shard size field {0} does not fit the datagram")]
    ShardSize(u16),
}

/// Fills in the nonce and CRC32 of a datagram whose bytes from offset 20 are final, then encrypts
/// the whole of it in place.
pub fn seal(crypt: &BlockCrypt, datagram: &mut [u8]) {
    rand::fill(&mut datagram[..NONCE_SIZE]);
    let crc = crc32fast::hash(&datagram[CRYPT_HEADER_SIZE..]);
    datagram[NONCE_SIZE..CRYPT_HEADER_SIZE].copy_from_slice(&crc.to_le_bytes());
    crypt.encrypt(datagram);
}

/// Decrypts a datagram in place and checks its CRC32; on success returns the FEC packet (the
/// bytes from offset 20).
pub fn open<'a>(crypt: &BlockCrypt, datagram: &'a mut [u8]) -> Result<&'a [u8], DatagramError> {
    if datagram.len() < HEADER_SIZE + 24 {
        return Err(DatagramError::TooShort(datagram.len()));
    }
    crypt.decrypt(datagram);
    let want = u32::from_le_bytes([datagram[16], datagram[17], datagram[18], datagram[19]]);
    if crc32fast::hash(&datagram[CRYPT_HEADER_SIZE..]) != want {
        return Err(DatagramError::Checksum);
    }
    Ok(&datagram[CRYPT_HEADER_SIZE..])
}

/// One FEC shard, parsed from the bytes after the crypt header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FecPacket<'a> {
    /// The shard's sequence number; `seqid / 13` names its group, `seqid % 13` its index.
    pub seqid: u32,
    /// [`FLAG_DATA`] or [`FLAG_PARITY`].
    pub flag: u16,
    /// For a data shard, the bytes from the size field on; for a parity shard, the parity bytes.
    pub body: &'a [u8],
}

impl<'a> FecPacket<'a> {
    /// Parses the FEC header; data shards also get their size field checked.
    pub fn parse(b: &'a [u8]) -> Result<FecPacket<'a>, DatagramError> {
        if b.len() < FEC_HEADER_SIZE + FEC_SIZE_FIELD {
            return Err(DatagramError::TooShort(b.len() + CRYPT_HEADER_SIZE));
        }
        let seqid = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let flag = u16::from_le_bytes([b[4], b[5]]);
        let body = &b[FEC_HEADER_SIZE..];
        match flag {
            FLAG_DATA => {
                shard_payload(body)?;
            }
            FLAG_PARITY => {}
            other => return Err(DatagramError::FecFlag(other)),
        }
        Ok(FecPacket { seqid, flag, body })
    }

    /// The KCP bytes of a data shard (after the size field, up to its count).
    pub fn kcp_payload(&self) -> Option<&'a [u8]> {
        if self.flag == FLAG_DATA {
            shard_payload(self.body).ok()
        } else {
            None
        }
    }
}

/// The KCP bytes of a data shard body (size field first), checked against the size field.
pub fn shard_payload(body: &[u8]) -> Result<&[u8], DatagramError> {
    let Some(size) = body.get(..2).map(|s| u16::from_le_bytes([s[0], s[1]])) else {
        return Err(DatagramError::TooShort(body.len()));
    };
    let n = usize::from(size);
    if n < FEC_SIZE_FIELD || n > body.len() {
        return Err(DatagramError::ShardSize(size));
    }
    Ok(&body[FEC_SIZE_FIELD..n])
}
