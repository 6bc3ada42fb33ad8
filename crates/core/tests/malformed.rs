//! Malformed input gives a typed error, never a panic, and the decoder stays usable.

use bytes::{BufMut, BytesMut};
use fastrpc_core::{FrameDecoder, Limits, Message, ProtocolError, SerializeType};

fn valid_frame() -> BytesMut {
    let mut m = Message::request("Arith", "Mul");
    m.header.set_serialize_type(SerializeType::JSON);
    m.metadata.insert("k", "v");
    m.payload = bytes::Bytes::from_static(br#"{"A":7,"B":8}"#);
    let mut b = BytesMut::new();
    m.encode(&mut b).unwrap();
    b
}

#[test]
fn bad_magic_is_reported_on_the_first_byte() {
    let mut buf = BytesMut::from(&b"G"[..]);
    let err = FrameDecoder::default().decode(&mut buf).unwrap_err();
    assert!(matches!(err, ProtocolError::BadMagic(b'G')));
    assert!(err.is_fatal());
}

#[test]
fn truncated_frame_at_eof() {
    let full = valid_frame();
    for cut in [1, 5, 15, 16, 30, full.len() - 1] {
        let mut buf = BytesMut::from(&full[..cut]);
        let mut d = FrameDecoder::default();
        assert!(d.decode(&mut buf).unwrap().is_none());
        let err = d.decode_eof(&mut buf).unwrap_err();
        assert!(
            matches!(err, ProtocolError::TruncatedFrame { have, .. } if have == cut),
            "{err}"
        );
    }
    let mut empty = BytesMut::new();
    assert!(
        FrameDecoder::default()
            .decode_eof(&mut empty)
            .unwrap()
            .is_none()
    );
}

#[test]
fn oversize_frame_is_refused_before_buffering() {
    let mut buf = BytesMut::new();
    buf.put_slice(&[0x08, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 1]);
    buf.put_u32(u32::MAX);
    let limits = Limits {
        max_frame_len: 1024,
        ..Limits::default()
    };
    let err = FrameDecoder::new(limits).decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, ProtocolError::FrameTooLong { len, max: 1024 } if len == u32::MAX as usize)
    );
    assert!(
        buf.capacity() < 1 << 20,
        "no memory reserved for the announced length"
    );
}

#[test]
fn inner_lengths_past_the_frame() {
    // A path length larger than the frame.
    let mut f = valid_frame();
    f[16..20].copy_from_slice(&1000u32.to_be_bytes());
    let err = FrameDecoder::default().decode(&mut f).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::FieldOverflow {
                field: "service path"
            }
        ),
        "{err}"
    );
    assert!(f.is_empty(), "a non-fatal error consumes the frame");

    // A metadata key length past the metadata block.
    let mut f = valid_frame();
    // header 16 + path (4+5) + method (4+3) = 32: metadata length; key length at 36.
    f[36..40].copy_from_slice(&200u32.to_be_bytes());
    let err = FrameDecoder::default().decode(&mut f).unwrap_err();
    assert!(matches!(err, ProtocolError::MetadataKvMissing), "{err}");

    // A metadata block length past the frame.
    let mut f = valid_frame();
    f[32..36].copy_from_slice(&5000u32.to_be_bytes());
    let err = FrameDecoder::default().decode(&mut f).unwrap_err();
    assert!(
        matches!(err, ProtocolError::FieldOverflow { field: "metadata" }),
        "{err}"
    );
}

#[test]
fn payload_len_is_lenient_like_go() {
    let mut f = valid_frame();
    let n = f.len();
    // payloadLen sits 4 + 13 bytes from the end: claim 0, the payload is still the rest.
    f[n - 17..n - 13].copy_from_slice(&0u32.to_be_bytes());
    let m = FrameDecoder::default().decode(&mut f).unwrap().unwrap();
    assert_eq!(&m.payload[..], br#"{"A":7,"B":8}"#);
}

#[test]
fn gzip_bomb_fails_cleanly() {
    let mut m = Message::request("Echo", "Echo");
    m.header.set_compress_type(fastrpc_core::CompressType::GZIP);
    m.payload = bytes::Bytes::from(vec![0u8; 64 << 20]);
    let wire = m.to_bytes().unwrap();
    assert!(
        wire.len() < 200_000,
        "64 MiB of zeros compresses to {} bytes",
        wire.len()
    );
    let mut buf = BytesMut::from(&wire[..]);
    let err = FrameDecoder::default().decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, ProtocolError::DecompressedTooLong { max } if max == Limits::DEFAULT_MAX_DECOMPRESSED_LEN)
    );
    assert!(buf.is_empty());
}

#[test]
fn garbage_after_a_valid_frame() {
    let mut buf = valid_frame();
    buf.put_slice(b"GET / HTTP/1.1\r\n");
    let mut d = FrameDecoder::default();
    assert!(d.decode(&mut buf).unwrap().is_some());
    assert!(matches!(
        d.decode(&mut buf),
        Err(ProtocolError::BadMagic(b'G'))
    ));
}

#[test]
fn invalid_utf8_and_unknown_compressor() {
    let mut f = valid_frame();
    f[20] = 0xff; // first byte of "Arith"
    assert!(matches!(
        FrameDecoder::default().decode(&mut f),
        Err(ProtocolError::InvalidUtf8 {
            field: "service path"
        })
    ));
    let mut f = valid_frame();
    f[2] |= 5 << 2; // compress type 5
    assert!(matches!(
        FrameDecoder::default().decode(&mut f),
        Err(ProtocolError::UnsupportedCompressor(5))
    ));
}

#[test]
fn frame_too_short_for_fields() {
    // totalLen 3: not even a path length.
    let mut buf = BytesMut::new();
    buf.put_slice(&[0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    buf.put_u32(3);
    buf.put_slice(&[0, 0, 0]);
    assert!(matches!(
        FrameDecoder::default().decode(&mut buf),
        Err(ProtocolError::FieldOverflow {
            field: "service path"
        })
    ));
}
