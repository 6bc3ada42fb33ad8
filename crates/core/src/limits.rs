//! Safe limits for decoding untrusted input.

/// Bounds the decoder enforces on every frame.
///
/// Go rpcx has no limits by default (`MaxMessageLength = 0`); fastrpc has safe ones, because a
/// peer that announces a 4 GiB frame or sends a gzip bomb must cost an error, not memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest `totalLen` accepted (the frame without its 16-byte prefix).
    /// Default 16 MiB. Larger frames fail with [`ProtocolError::FrameTooLong`] as soon as
    /// the header has arrived, before the body is buffered.
    ///
    /// [`ProtocolError::FrameTooLong`]: crate::ProtocolError::FrameTooLong
    pub max_frame_len: usize,
    /// The largest payload a compressed payload may expand to. Default 16 MiB.
    pub max_decompressed_len: usize,
    /// The most metadata pairs one frame may carry. Default 1024. More fail with
    /// [`ProtocolError::MetadataTooLarge`] (the frame is consumed and answered with an error),
    /// found while counting, before any pair beyond the limit is decoded.
    ///
    /// [`ProtocolError::MetadataTooLarge`]: crate::ProtocolError::MetadataTooLarge
    pub max_metadata_pairs: usize,
    /// The largest metadata block (the encoded pairs) one frame may carry. Default 64 KiB.
    /// Larger blocks fail with [`ProtocolError::MetadataTooLarge`] before decoding.
    ///
    /// [`ProtocolError::MetadataTooLarge`]: crate::ProtocolError::MetadataTooLarge
    pub max_metadata_len: usize,
}

impl Limits {
    /// Default for [`Limits::max_frame_len`].
    pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;
    /// Default for [`Limits::max_decompressed_len`].
    pub const DEFAULT_MAX_DECOMPRESSED_LEN: usize = 16 * 1024 * 1024;
    /// Default for [`Limits::max_metadata_pairs`].
    pub const DEFAULT_MAX_METADATA_PAIRS: usize = 1024;
    /// Default for [`Limits::max_metadata_len`].
    pub const DEFAULT_MAX_METADATA_LEN: usize = 64 * 1024;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame_len: Limits::DEFAULT_MAX_FRAME_LEN,
            max_decompressed_len: Limits::DEFAULT_MAX_DECOMPRESSED_LEN,
            max_metadata_pairs: Limits::DEFAULT_MAX_METADATA_PAIRS,
            max_metadata_len: Limits::DEFAULT_MAX_METADATA_LEN,
        }
    }
}
