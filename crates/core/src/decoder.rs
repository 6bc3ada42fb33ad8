//! Incremental frame decoding.

use crate::compress::{self, CompressType};
use crate::header::{HEADER_LEN, Header, MAGIC};
use crate::{ByteStr, Limits, Message, Metadata, ProtocolError};
use bytes::{Buf, Bytes, BytesMut};

/// Length of the prefix every frame starts with: the header and the `totalLen` field.
const PREFIX_LEN: usize = HEADER_LEN + 4;

/// Frames up to this size are copied out of the read buffer instead of sharing it, so a small
/// message that a handler keeps does not pin the connection's whole read chunk, and the buffer
/// can be reused in place.
const COPY_OUT_MAX: usize = 4 * 1024;

/// Turns a byte stream into [`Message`]s, a frame at a time.
///
/// Feed it whatever arrived (a byte or a megabyte); it returns `Ok(None)` until a whole frame
/// is buffered, then takes exactly that frame out of the buffer. Decoding rules follow Go's
/// `Message.Decode` (`docs/PROTOCOL.md`): the magic byte is checked first, the announced length
/// is checked against [`Limits`] before the body is buffered, the payload is *all the bytes left
/// in the frame* whatever `payloadLen` says, and a compressed payload is decompressed within
/// [`Limits::max_decompressed_len`]. Unlike Go, an inner length that runs past the frame is an
/// error, not a half-filled message.
///
/// The decoder never reserves memory for an announced length: the caller grows its buffer as
/// bytes arrive (see [`FrameDecoder::frame_len`]), so a header announcing 15 MiB costs nothing
/// until 15 MiB have been sent.
#[derive(Debug, Clone, Default)]
pub struct FrameDecoder {
    limits: Limits,
}

impl FrameDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> FrameDecoder {
        FrameDecoder { limits }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes one whole frame out of `buf`, if one is there.
    ///
    /// On a fatal error ([`ProtocolError::is_fatal`]) the buffer is left as it was and the
    /// stream must be abandoned. On any other error the bad frame has been consumed, so the
    /// next call starts at the next frame.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, ProtocolError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first != MAGIC {
            return Err(ProtocolError::BadMagic(first));
        }
        if buf.len() < PREFIX_LEN {
            return Ok(None);
        }
        let total = u32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]) as usize;
        if total > self.limits.max_frame_len {
            return Err(ProtocolError::FrameTooLong {
                len: total,
                max: self.limits.max_frame_len,
            });
        }
        let need = PREFIX_LEN + total;
        if buf.len() < need {
            return Ok(None);
        }
        // A small frame in a larger buffer is copied out; a buffer that holds just this frame
        // (or a large frame) is split, which copies nothing.
        let frame = if need <= COPY_OUT_MAX && buf.capacity() > need {
            let f = Bytes::copy_from_slice(&buf[..need]);
            buf.advance(need);
            f
        } else if buf.len() == need {
            // The buffer is this frame: hand it over whole (no reference-count block).
            std::mem::take(buf).freeze()
        } else {
            buf.split_to(need).freeze()
        };
        self.parse_frame(frame).map(Some)
    }

    /// The whole length (prefix included) of the frame at the start of `buf`, once its prefix
    /// has arrived and its length is within the limits; `None` otherwise. Readers use it to
    /// grow their buffer towards the frame as bytes arrive.
    pub fn frame_len(&self, buf: &[u8]) -> Option<usize> {
        if buf.len() < PREFIX_LEN || buf[0] != MAGIC {
            return None;
        }
        let total = u32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]) as usize;
        (total <= self.limits.max_frame_len).then_some(PREFIX_LEN + total)
    }

    /// Call when the stream has ended: an empty buffer is a clean end, anything left is a
    /// truncated frame.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, ProtocolError> {
        match self.decode(buf)? {
            Some(m) => Ok(Some(m)),
            None if buf.is_empty() => Ok(None),
            None => {
                let need = if buf.len() >= PREFIX_LEN {
                    PREFIX_LEN + u32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]) as usize
                } else {
                    PREFIX_LEN
                };
                Err(ProtocolError::TruncatedFrame {
                    have: buf.len(),
                    need,
                })
            }
        }
    }

    /// Parses one complete frame (prefix included).
    pub fn parse_frame(&self, frame: Bytes) -> Result<Message, ProtocolError> {
        let mut hb = [0u8; HEADER_LEN];
        hb.copy_from_slice(&frame[..HEADER_LEN]);
        let header = Header::from_bytes(&hb);
        let mut body = frame.slice(PREFIX_LEN..);

        let service_path = take_str(&mut body, "service path")?;
        let service_method = take_str(&mut body, "service method")?;
        let meta_block = take_field(&mut body, "metadata")?;
        let metadata = decode_metadata(meta_block, &self.limits)?;
        if body.len() < 4 {
            return Err(ProtocolError::FieldOverflow {
                field: "payload length",
            });
        }
        // Go ignores payloadLen and takes the rest of the frame; so do we.
        body.advance(4);
        let ct = header.compress_type();
        let payload = if ct == CompressType::NONE {
            body
        } else {
            compress::decompress(ct, &body, self.limits.max_decompressed_len)?
        };
        Ok(Message {
            header,
            service_path,
            service_method,
            metadata,
            payload,
        })
    }
}

fn take_field(body: &mut Bytes, field: &'static str) -> Result<Bytes, ProtocolError> {
    if body.len() < 4 {
        return Err(ProtocolError::FieldOverflow { field });
    }
    let len = body.get_u32() as usize;
    if len > body.len() {
        return Err(ProtocolError::FieldOverflow { field });
    }
    Ok(body.split_to(len))
}

fn take_str(body: &mut Bytes, field: &'static str) -> Result<ByteStr, ProtocolError> {
    let b = take_field(body, field)?;
    ByteStr::from_utf8(b).map_err(|_| ProtocolError::InvalidUtf8 { field })
}

/// Go's `decodeMetadata`, with its bounds checks, returning errors where Go would panic, and
/// with [`Limits`] on pairs and bytes (Go has none). Linear in the block's length.
fn decode_metadata(block: Bytes, limits: &Limits) -> Result<Metadata, ProtocolError> {
    let mut m = Metadata::new();
    let len = block.len();
    if len > limits.max_metadata_len {
        return Err(ProtocolError::MetadataTooLarge {
            what: "bytes",
            got: len,
            max: limits.max_metadata_len,
        });
    }
    let mut pairs = 0usize;
    let mut pos = 0usize;
    let read_u32 = |pos: usize| -> Result<usize, ProtocolError> {
        let b = block
            .get(pos..pos + 4)
            .ok_or(ProtocolError::MetadataKvMissing)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    while pos < len {
        pairs += 1;
        if pairs > limits.max_metadata_pairs {
            return Err(ProtocolError::MetadataTooLarge {
                what: "pairs",
                got: pairs,
                max: limits.max_metadata_pairs,
            });
        }
        let kl = read_u32(pos)?;
        pos += 4;
        // The key must leave room for the value's length field.
        if kl > len.saturating_sub(4).saturating_sub(pos) || pos + kl + 4 > len {
            return Err(ProtocolError::MetadataKvMissing);
        }
        let key = block.slice(pos..pos + kl);
        pos += kl;
        let vl = read_u32(pos)?;
        pos += 4;
        if vl > len - pos {
            return Err(ProtocolError::MetadataKvMissing);
        }
        let value = block.slice(pos..pos + vl);
        pos += vl;
        let key = ByteStr::from_utf8(key).map_err(|_| ProtocolError::InvalidUtf8 {
            field: "metadata key",
        })?;
        let value = ByteStr::from_utf8(value).map_err(|_| ProtocolError::InvalidUtf8 {
            field: "metadata value",
        })?;
        m.push_decoded(key, value);
    }
    m.dedup_last_wins();
    Ok(m)
}
