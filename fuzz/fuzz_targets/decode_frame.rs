//! Feeds arbitrary bytes to the frame decoder in arbitrary chunks: it must never panic, and
//! every frame it accepts must re-encode and decode to the same message.
#![no_main]

use bytes::BytesMut;
use fastrpc_core::{FrameDecoder, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let limits = Limits { max_frame_len: 1 << 20, max_decompressed_len: 1 << 20, ..Limits::default() };
    let mut decoder = FrameDecoder::new(limits);
    let mut buf = BytesMut::new();
    for part in data.chunks(chunk) {
        buf.extend_from_slice(part);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(msg)) => {
                    let wire = msg.to_bytes().expect("a decoded message encodes");
                    let mut again = BytesMut::from(&wire[..]);
                    let back = FrameDecoder::new(Limits { max_frame_len: usize::MAX, max_decompressed_len: usize::MAX, max_metadata_pairs: usize::MAX, max_metadata_len: usize::MAX })
                        .decode(&mut again)
                        .expect("re-encoded frame decodes")
                        .expect("whole frame");
                    assert_eq!(back, msg);
                }
                Ok(None) => break,
                Err(e) if e.is_fatal() => return,
                Err(_) => continue,
            }
        }
    }
    let _ = decoder.decode_eof(&mut buf);
});
