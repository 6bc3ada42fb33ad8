//! Property test: any message encodes and decodes back to itself, however the bytes are split.

use bytes::{Bytes, BytesMut};
use fastrpc_core::{CompressType, FrameDecoder, Header, Message, Metadata};
use proptest::prelude::*;

fn arb_message() -> impl Strategy<Value = Message> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u64>(),
        "[A-Za-z0-9_./]{0,24}",
        "[A-Za-z0-9_]{0,24}",
        proptest::collection::btree_map("[a-z_]{0,12}", ".{0,20}", 0..5),
        proptest::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(
            |(version, flags, serialize, seq, path, method, meta, payload)| {
                let mut header = Header {
                    version,
                    flags,
                    serialize,
                    seq,
                };
                // Only compressors that exist can round-trip.
                if header.compress_type().value() > 1 {
                    header.set_compress_type(CompressType::GZIP);
                }
                Message {
                    header,
                    service_path: path.into(),
                    service_method: method.into(),
                    metadata: meta.into_iter().collect::<Metadata>(),
                    payload: Bytes::from(payload),
                }
            },
        )
}

proptest! {
    #[test]
    fn encode_decode_round_trip(msg in arb_message(), chunk in 1usize..64) {
        let wire = msg.to_bytes().unwrap();
        let mut dec = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = None;
        for part in wire.chunks(chunk) {
            prop_assert!(got.is_none());
            buf.extend_from_slice(part);
            got = dec.decode(&mut buf).unwrap();
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got.unwrap(), msg);
    }

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut dec = FrameDecoder::default();
        // Drain until the decoder wants more or fails; it must terminate without panicking.
        for _ in 0..64 {
            match dec.decode(&mut buf) {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            }
        }
    }
}
