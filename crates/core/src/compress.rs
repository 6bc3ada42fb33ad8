//! Payload compression: the compress type bits and gzip.
//!
//! rpcx compresses only the payload. A sender sets the gzip bit only when its payload is longer
//! than [`GZIP_THRESHOLD`] bytes (Go's client and server both follow this rule); a receiver looks
//! at the bit on every message. Decompression is bounded by [`Limits::max_decompressed_len`]
//! so that a gzip bomb fails with [`ProtocolError::DecompressedTooLong`] instead of eating memory.
//!
//! [`Limits::max_decompressed_len`]: crate::Limits::max_decompressed_len

use crate::ProtocolError;
use bytes::Bytes;

/// A payload is compressed only when it is strictly longer than this many bytes.
pub const GZIP_THRESHOLD: usize = 1024;

/// The compress type (3 bits of the flags byte). An open set: rpcx registers 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompressType(u8);

impl CompressType {
    /// No compression.
    pub const NONE: CompressType = CompressType(0);
    /// Gzip (RFC 1952) of the payload.
    pub const GZIP: CompressType = CompressType(1);

    /// The compress type with this 3-bit value (higher bits are dropped).
    pub const fn from_bits(bits: u8) -> CompressType {
        CompressType(bits & 0x07)
    }

    /// The 3-bit value carried in the flags byte.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether a payload of `len` bytes should be sent compressed with this type, by the
    /// rpcx rule: a compress type other than none and more than [`GZIP_THRESHOLD`] bytes.
    pub fn applies_to(self, len: usize) -> bool {
        self != CompressType::NONE && len > GZIP_THRESHOLD
    }
}

/// Compresses `data` with `ct`.
pub fn compress(ct: CompressType, data: &[u8]) -> Result<Bytes, ProtocolError> {
    match ct {
        CompressType::NONE => Ok(Bytes::copy_from_slice(data)),
        #[cfg(feature = "gzip")]
        CompressType::GZIP => gzip::compress(data),
        other => Err(ProtocolError::UnsupportedCompressor(other.value())),
    }
}

/// Decompresses `data` with `ct`, failing once the output would exceed `max_len` bytes.
pub fn decompress(ct: CompressType, data: &[u8], max_len: usize) -> Result<Bytes, ProtocolError> {
    match ct {
        CompressType::NONE => Ok(Bytes::copy_from_slice(data)),
        #[cfg(feature = "gzip")]
        CompressType::GZIP => gzip::decompress(data, max_len),
        other => {
            let _ = max_len;
            Err(ProtocolError::UnsupportedCompressor(other.value()))
        }
    }
}

#[cfg(feature = "gzip")]
mod gzip {
    use super::*;
    use std::io::{Read, Write};

    pub(super) fn compress(data: &[u8]) -> Result<Bytes, ProtocolError> {
        // Like Go's compress/gzip defaults: level 6, no name, mtime 0, OS byte 255.
        let mut enc = flate2::GzBuilder::new().operating_system(255).write(
            Vec::with_capacity(data.len() / 2 + 64),
            flate2::Compression::new(6),
        );
        enc.write_all(data).map_err(ProtocolError::Compress)?;
        Ok(Bytes::from(enc.finish().map_err(ProtocolError::Compress)?))
    }

    pub(super) fn decompress(data: &[u8], max_len: usize) -> Result<Bytes, ProtocolError> {
        // Go's gzip reader accepts concatenated members; so does MultiGzDecoder.
        let dec = flate2::read::MultiGzDecoder::new(data);
        let cap = (max_len as u64).saturating_add(1);
        let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max_len).min(1 << 20));
        dec.take(cap)
            .read_to_end(&mut out)
            .map_err(ProtocolError::Decompress)?;
        if out.len() > max_len {
            return Err(ProtocolError::DecompressedTooLong { max: max_len });
        }
        Ok(Bytes::from(out))
    }
}

#[cfg(all(test, feature = "gzip"))]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_strictly_greater() {
        assert!(!CompressType::GZIP.applies_to(1024));
        assert!(CompressType::GZIP.applies_to(1025));
        assert!(!CompressType::NONE.applies_to(1 << 20));
    }

    #[test]
    fn gzip_round_trip_and_bomb() {
        let data = vec![b'a'; 100_000];
        let z = compress(CompressType::GZIP, &data).unwrap();
        assert!(z.len() < 1000);
        assert_eq!(
            &decompress(CompressType::GZIP, &z, 100_000).unwrap()[..],
            &data[..]
        );
        assert!(matches!(
            decompress(CompressType::GZIP, &z, 99_999),
            Err(ProtocolError::DecompressedTooLong { max: 99_999 })
        ));
    }

    #[test]
    fn garbage_is_a_decompress_error() {
        assert!(matches!(
            decompress(CompressType::GZIP, b"not gzip at all", 1 << 20),
            Err(ProtocolError::Decompress(_))
        ));
    }

    #[test]
    fn unknown_compressor_is_typed() {
        assert!(matches!(
            decompress(CompressType::from_bits(5), b"x", 10),
            Err(ProtocolError::UnsupportedCompressor(5))
        ));
    }
}
