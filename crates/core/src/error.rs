//! Protocol errors.

/// Why bytes could not be decoded into a message, or a message could not be encoded.
///
/// Every variant leaves the decoder in a defined state: errors found in the fixed header
/// ([`BadMagic`](Self::BadMagic), [`FrameTooLong`](Self::FrameTooLong)) and
/// [`TruncatedFrame`](Self::TruncatedFrame) mean the stream is out of sync and the connection
/// must be closed; the others are found after the whole frame was consumed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The first byte of a frame was not `0x08`.
    #[error("wrong magic number: {0:#04x}")]
    BadMagic(u8),
    /// The frame announces more bytes than [`Limits::max_frame_len`](crate::Limits).
    #[error("message is too long: {len} bytes, limit {max}")]
    FrameTooLong {
        /// The announced `totalLen`.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The stream ended inside a frame.
    #[error("connection closed inside a frame: {have} of {need} bytes")]
    TruncatedFrame {
        /// Bytes received of the frame.
        have: usize,
        /// Bytes the frame needed (at least the 16-byte prefix).
        need: usize,
    },
    /// A length inside the frame points past its end.
    #[error("{field} runs past the end of the frame")]
    FieldOverflow {
        /// Which field ("service path", "metadata", ...).
        field: &'static str,
    },
    /// A metadata key or value length runs past the metadata block (Go's `ErrMetaKVMissing`).
    #[error("wrong metadata lines. some keys or values are missing")]
    MetadataKvMissing,
    /// The metadata has more pairs or bytes than [`Limits`](crate::Limits) allows. The frame
    /// was consumed; the connection stays usable.
    #[error("metadata is too large: {what} {got}, limit {max}")]
    MetadataTooLarge {
        /// Which limit: `"pairs"` or `"bytes"`.
        what: &'static str,
        /// The count found (for pairs: the first count past the limit).
        got: usize,
        /// The configured limit.
        max: usize,
    },
    /// Memory for a frame could not be allocated. The stream must be abandoned.
    #[error("cannot allocate {len} bytes for a frame")]
    OutOfMemory {
        /// The bytes asked for.
        len: usize,
    },
    /// A service path, method or metadata string is not UTF-8.
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 {
        /// Which field.
        field: &'static str,
    },
    /// The compress type has no compressor (rpcx registers only none and gzip).
    #[error("unsupported compressor: {0}")]
    UnsupportedCompressor(u8),
    /// The compressed payload is not a valid stream.
    #[error("failed to decompress payload: {0}")]
    Decompress(#[source] std::io::Error),
    /// The payload expands past [`Limits::max_decompressed_len`](crate::Limits).
    #[error("decompressed payload exceeds the limit of {max} bytes")]
    DecompressedTooLong {
        /// The configured limit.
        max: usize,
    },
    /// Compressing the payload failed.
    #[error("failed to compress payload: {0}")]
    Compress(#[source] std::io::Error),
    /// A field is too long for its u32 length prefix.
    #[error("{field} is too long to encode ({len} bytes)")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
}

impl ProtocolError {
    /// True when the byte stream can no longer be trusted to be in sync and the connection
    /// has to be closed.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ProtocolError::BadMagic(_)
                | ProtocolError::FrameTooLong { .. }
                | ProtocolError::TruncatedFrame { .. }
                | ProtocolError::OutOfMemory { .. }
        )
    }
}
