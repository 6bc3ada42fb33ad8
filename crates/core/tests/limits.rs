//! Limits on what a peer can make the decoder hold: no reservation of announced lengths,
//! metadata bounded in pairs and bytes with a typed, non-fatal error.

use bytes::{BufMut, BytesMut};
use fastrpc_core::{FrameDecoder, Limits, Message, ProtocolError};

/// A request whose metadata block holds `pairs` pairs of one-byte keys and values.
fn frame_with_pairs(pairs: usize) -> BytesMut {
    let mut meta = BytesMut::new();
    for i in 0..pairs {
        let k = format!("k{i}");
        meta.put_u32(k.len() as u32);
        meta.put_slice(k.as_bytes());
        meta.put_u32(1);
        meta.put_u8(b'v');
    }
    let mut body = BytesMut::new();
    for s in [&b"Echo"[..], b"Echo"] {
        body.put_u32(s.len() as u32);
        body.put_slice(s);
    }
    body.put_u32(meta.len() as u32);
    body.put_slice(&meta);
    body.put_u32(2);
    body.put_slice(b"hi");
    let mut f = BytesMut::new();
    f.put_slice(&[0x08, 1, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 7]);
    f.put_u32(body.len() as u32);
    f.put_slice(&body);
    f
}

#[test]
fn announced_length_is_not_reserved() {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_slice(&[0x08, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 1]);
    buf.put_u32(15 * 1024 * 1024);
    let mut d = FrameDecoder::default();
    assert!(d.decode(&mut buf).unwrap().is_none());
    assert!(buf.capacity() < 4096, "capacity {}", buf.capacity());
    assert_eq!(d.frame_len(&buf), Some(16 + 15 * 1024 * 1024));
}

#[test]
fn metadata_pairs_beyond_the_limit_are_a_typed_error() {
    let limits = Limits {
        max_metadata_pairs: 10,
        ..Limits::default()
    };
    let mut d = FrameDecoder::new(limits);
    let mut ok = frame_with_pairs(10);
    assert_eq!(d.decode(&mut ok).unwrap().unwrap().metadata.len(), 10);

    let mut buf = frame_with_pairs(11);
    buf.extend_from_slice(&frame_with_pairs(1));
    let err = d.decode(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::MetadataTooLarge {
                what: "pairs",
                got: 11,
                max: 10
            }
        ),
        "{err}"
    );
    assert!(!err.is_fatal());
    // The bad frame was consumed: the next one decodes.
    assert_eq!(d.decode(&mut buf).unwrap().unwrap().metadata.len(), 1);
}

#[test]
fn metadata_bytes_beyond_the_limit_are_a_typed_error() {
    let limits = Limits {
        max_metadata_len: 100,
        ..Limits::default()
    };
    let mut buf = frame_with_pairs(20);
    let err = FrameDecoder::new(limits).decode(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::MetadataTooLarge {
                what: "bytes",
                max: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(buf.is_empty());
}

#[test]
fn default_limits_refuse_a_metadata_flood() {
    // 1.4M pairs in one frame was 0.7 s of CPU and 270 MiB; now it is refused before decoding.
    let mut buf = frame_with_pairs(200_000);
    let err = FrameDecoder::default().decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, ProtocolError::MetadataTooLarge { .. }),
        "{err}"
    );
}

#[test]
fn small_frames_do_not_share_the_read_buffer() {
    let mut m = Message::request("Echo", "Echo");
    m.payload = bytes::Bytes::from_static(b"hello");
    let mut buf = BytesMut::with_capacity(64 * 1024);
    m.encode(&mut buf).unwrap();
    let cap = buf.capacity();
    let msg = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    // The buffer can take its whole allocation back while the message is alive.
    assert!(buf.try_reclaim(cap), "the read buffer is still shared");
    assert_eq!(msg.payload, "hello");
}
