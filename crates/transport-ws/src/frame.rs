//! RFC 6455 frames on a byte buffer: decoding with the checks a receiver owes, and encoding.
//!
//! Headers are parsed and formatted by tungstenite; the payload is handled here because rpcx
//! needs each data frame's bytes as they are, whatever the frame type (a Go client writes
//! *text* frames whose payload is binary rpcx data, which tungstenite's message layer rejects
//! as invalid UTF-8).

use std::io::Cursor;

use bytes::{Buf, Bytes, BytesMut};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::error::WsError;

/// Which end of the connection this is; it decides masking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
}

/// What one complete frame means to the stream.
#[derive(Debug)]
pub(crate) enum Event {
    /// Bytes of the rpcx stream (from a text, binary or continuation frame).
    Data(Bytes),
    /// A ping to answer with this payload.
    Ping(Bytes),
    /// A pong, ignored.
    Pong,
    /// The peer's close frame (its payload: status code and reason).
    Close(Bytes),
}

/// Decoding state across frames: whether a fragmented message is open, and its size.
#[derive(Debug)]
pub(crate) struct Decoder {
    role: Role,
    max_message_size: usize,
    in_message: bool,
    message_len: u64,
}

impl Decoder {
    pub(crate) fn new(role: Role, max_message_size: usize) -> Decoder {
        Decoder {
            role,
            max_message_size,
            in_message: false,
            message_len: 0,
        }
    }

    /// True while a frame or a fragmented message is incomplete.
    pub(crate) fn mid_message(&self, buf: &BytesMut) -> bool {
        self.in_message || !buf.is_empty()
    }

    /// Takes one complete frame off `buf`, or returns `None` and says (in `want`) how many bytes
    /// the buffer must hold for the next step. Limits are checked on the header, before the
    /// payload is waited for, so a peer cannot make the buffer grow past the message limit.
    pub(crate) fn next(
        &mut self,
        buf: &mut BytesMut,
        want: &mut usize,
    ) -> Result<Option<Event>, WsError> {
        // tungstenite's parser refuses these too, but without saying why.
        if buf
            .first()
            .is_some_and(|b| matches!(b & 0x0f, 3..=7 | 0xb..=0xf))
        {
            return Err(WsError::Protocol("reserved opcode"));
        }
        let mut cur = Cursor::new(&buf[..]);
        let parsed = FrameHeader::parse(&mut cur)
            .map_err(|_| WsError::Protocol("malformed frame header"))?;
        let Some((header, len)) = parsed else {
            *want = buf.len() + 1;
            return Ok(None);
        };
        let header_len = cur.position() as usize;
        self.check(&header, len)?;
        // `check` bounded `len` by the message limit, so it fits in usize.
        let len = len as usize;
        if buf.len() < header_len + len {
            *want = header_len + len;
            return Ok(None);
        }
        if let OpCode::Data(_) = header.opcode {
            self.message_len += len as u64;
            self.in_message = !header.is_final;
        }
        buf.advance(header_len);
        let mut payload = buf.split_to(len);
        if let Some(mask) = header.mask {
            apply_mask(&mut payload, mask);
        }
        let payload = payload.freeze();
        Ok(Some(match header.opcode {
            OpCode::Data(_) => Event::Data(payload),
            OpCode::Control(Control::Ping) => Event::Ping(payload),
            OpCode::Control(Control::Pong) => Event::Pong,
            OpCode::Control(_) => Event::Close(payload),
        }))
    }

    fn check(&mut self, header: &FrameHeader, len: u64) -> Result<(), WsError> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(WsError::Protocol(
                "reserved bits set, but no extension was agreed",
            ));
        }
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(WsError::Protocol("unmasked frame from a client")),
            (Role::Client, true) => return Err(WsError::Protocol("masked frame from a server")),
            _ => {}
        }
        match header.opcode {
            OpCode::Data(Data::Continue) if !self.in_message => Err(WsError::Protocol(
                "continuation frame without a message to continue",
            )),
            OpCode::Data(Data::Text | Data::Binary) if self.in_message => {
                Err(WsError::Protocol("new message inside a fragmented one"))
            }
            OpCode::Data(Data::Reserved(_)) | OpCode::Control(Control::Reserved(_)) => {
                Err(WsError::Protocol("reserved opcode"))
            }
            OpCode::Data(d) => {
                if d != Data::Continue {
                    self.message_len = 0;
                }
                let size = self.message_len.saturating_add(len);
                if size > self.max_message_size as u64 {
                    return Err(WsError::MessageTooLarge {
                        size,
                        limit: self.max_message_size,
                    });
                }
                Ok(())
            }
            OpCode::Control(_) if !header.is_final || len > 125 => {
                Err(WsError::Protocol("fragmented or oversized control frame"))
            }
            OpCode::Control(_) => Ok(()),
        }
    }
}

/// XORs `data` with the 4-byte masking key (RFC 6455 §5.3); its own inverse.
pub(crate) fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Appends one final frame with `payload` to `out`, masked with a random key from a client.
pub(crate) fn encode(out: &mut BytesMut, role: Role, opcode: OpCode, payload: &[u8]) {
    let mask = (role == Role::Client).then(rand::random::<[u8; 4]>);
    let header = FrameHeader {
        is_final: true,
        opcode,
        mask,
        ..FrameHeader::default()
    };
    let mut head = Vec::with_capacity(14);
    // Formatting into a Vec cannot fail.
    let _ = header.format(payload.len() as u64, &mut head);
    out.extend_from_slice(&head);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(&mut out[start..], mask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame, written out by hand (RFC 6455 §5.2).
    fn masked(first: u8, payload: &[u8]) -> BytesMut {
        assert!(payload.len() < 126);
        let mask = [1, 2, 3, 4];
        let mut f = BytesMut::from(&[first, 0x80 | payload.len() as u8][..]);
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    fn decode_all(d: &mut Decoder, buf: &mut BytesMut) -> Result<Vec<u8>, WsError> {
        let mut out = Vec::new();
        let mut want = 0;
        while let Some(ev) = d.next(buf, &mut want)? {
            if let Event::Data(b) = ev {
                out.extend_from_slice(&b);
            }
        }
        Ok(out)
    }

    #[test]
    fn text_binary_and_continuation_frames_read_as_one_stream() {
        let mut d = Decoder::new(Role::Server, 100);
        let mut buf = masked(0x81, b"\xff\x00");
        buf.extend(masked(0x02, b"ab"));
        buf.extend(masked(0x80, b"cd"));
        buf.extend(masked(0x82, b"e"));
        assert_eq!(decode_all(&mut d, &mut buf).unwrap(), b"\xff\x00abcde");
        assert!(!d.mid_message(&buf));
    }

    #[test]
    fn a_fragmented_message_counts_against_the_limit() {
        let mut d = Decoder::new(Role::Server, 5);
        let mut buf = masked(0x02, b"abc");
        buf.extend(masked(0x80, b"def"));
        let e = decode_all(&mut d, &mut buf).unwrap_err();
        assert!(
            matches!(e, WsError::MessageTooLarge { size: 6, limit: 5 }),
            "{e}"
        );
        // Each message starts its count afresh.
        let mut d = Decoder::new(Role::Server, 5);
        let mut buf = masked(0x82, b"abcde");
        buf.extend(masked(0x82, b"fghij"));
        assert_eq!(decode_all(&mut d, &mut buf).unwrap(), b"abcdefghij");
    }

    #[test]
    fn misplaced_frames_are_refused() {
        let cases: [(&[u8], &str); 4] = [
            (&[0x80], "continuation"),
            (&[0x09], "control"),
            (&[0x02, 0x82], "inside"),
            (&[0x8b], "reserved"),
        ];
        for (firsts, what) in cases {
            let mut d = Decoder::new(Role::Server, 1000);
            let mut buf = BytesMut::new();
            for &f in firsts {
                buf.extend(masked(f, b"x"));
            }
            let e = decode_all(&mut d, &mut buf).unwrap_err();
            assert!(e.to_string().contains(what), "{what}: {e}");
        }
    }

    #[test]
    fn a_client_refuses_masked_frames_and_encodes_masked() {
        let mut d = Decoder::new(Role::Client, 1000);
        let e = decode_all(&mut d, &mut masked(0x82, b"x")).unwrap_err();
        assert!(e.to_string().contains("masked frame from a server"), "{e}");

        let mut out = BytesMut::new();
        encode(&mut out, Role::Client, OpCode::Data(Data::Binary), b"hello");
        assert_eq!(out[0], 0x82);
        assert_eq!(out[1], 0x80 | 5);
        let mut d = Decoder::new(Role::Server, 1000);
        assert_eq!(decode_all(&mut d, &mut out).unwrap(), b"hello");
    }

    #[test]
    fn an_incomplete_frame_waits_for_its_bytes() {
        let mut d = Decoder::new(Role::Server, 1000);
        let full = masked(0x82, b"hello");
        let mut buf = BytesMut::from(&full[..7]);
        let mut want = 0;
        assert!(d.next(&mut buf, &mut want).unwrap().is_none());
        assert_eq!(want, full.len());
        assert!(d.mid_message(&buf));
    }
}
