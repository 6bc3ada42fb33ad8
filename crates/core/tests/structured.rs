//! Structure-aware property tests of the frame decoder: generated frames get past the magic
//! byte and the length check (see `frame_gen`), so the parser behind them is exercised, and
//! an independent oracle says what a correct decoder returns for each.

mod frame_gen;

use bytes::BytesMut;
use fastrpc_core::{FrameDecoder, Limits, Message, ProtocolError};
use frame_gen::{Expected, FrameSpec};
use proptest::prelude::*;

fn as_expected(m: &Message) -> Expected {
    let mut metadata: Vec<(String, String)> = m
        .metadata
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    metadata.sort();
    let h = m.header.to_bytes();
    Expected {
        version: h[1],
        flags: h[2],
        serialize: h[3],
        seq: m.header.seq,
        path: m.service_path.as_str().to_owned(),
        method: m.service_method.as_str().to_owned(),
        metadata,
        payload: m.payload.to_vec(),
    }
}

/// Decodes one delimited frame and checks it against the oracle: the right message, or a
/// non-fatal error that consumed exactly the frame.
fn check_one(spec: &FrameSpec, bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::from(bytes);
    let got = FrameDecoder::default().decode(&mut buf);
    prop_assert!(buf.is_empty(), "the frame was not consumed whole: {got:?}");
    let want = spec.expected();
    match got {
        Ok(Some(m)) => {
            let m = as_expected(&m);
            prop_assert!(want.allows(Some(&m)), "expected {want:?}, decoded {m:?}");
        }
        Err(e) => {
            prop_assert!(!e.is_fatal(), "fatal error on a delimited frame: {e}");
            prop_assert!(want.allows(None), "expected {want:?}, decoder said {e}");
        }
        Ok(None) => prop_assert!(false, "a whole frame was not decoded"),
    }
    Ok(())
}

/// Feeds `bytes` in chunks of the given sizes (cycled), collecting every result until a fatal
/// error; checks the decoder's documented buffer rules on the way.
fn decode_chunked(bytes: &[u8], chunks: &[usize], limits: Limits) -> Vec<Result<Message, String>> {
    let mut d = FrameDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            let before = buf.clone();
            match d.decode(&mut buf) {
                Ok(Some(m)) => out.push(Ok(m)),
                Ok(None) => break,
                Err(e) if e.is_fatal() => {
                    assert_eq!(buf, before, "a fatal error must leave the buffer as it was");
                    out.push(Err(e.to_string()));
                    return out;
                }
                Err(e) => out.push(Err(e.to_string())),
            }
        }
        assert!(
            buf.capacity() <= limits.max_frame_len + 16 + bytes.len(),
            "the decoder reserved {} bytes for a {}-byte input",
            buf.capacity(),
            bytes.len()
        );
    }
    match d.decode_eof(&mut buf) {
        Ok(Some(m)) => out.push(Ok(m)),
        Ok(None) => {}
        Err(e) => {
            let truncated = matches!(e, ProtocolError::TruncatedFrame { .. });
            assert!(truncated || e.is_fatal(), "decode_eof: {e}");
            out.push(Err(e.to_string()));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A frame whose `totalLen` is right decodes to exactly what the oracle says, or fails
    /// without losing sync.
    #[test]
    fn delimited_frames_decode_as_the_oracle_says(spec in frame_gen::delimited_frame()) {
        check_one(&spec, &spec.to_bytes())?;
    }

    /// Frames back to back in any chunking give one result per frame, in order, each as the
    /// oracle says: a bad frame costs that frame, not the stream.
    #[test]
    fn a_bad_frame_costs_only_itself(
        specs in prop::collection::vec(frame_gen::delimited_frame(), 1..6),
        chunks in prop::collection::vec(1usize..300, 1..8),
    ) {
        let bytes: Vec<u8> = specs.iter().flat_map(FrameSpec::to_bytes).collect();
        let got = decode_chunked(&bytes, &chunks, Limits::default());
        prop_assert_eq!(got.len(), specs.len(), "{:?}", got);
        for (spec, got) in specs.iter().zip(&got) {
            let want = spec.expected();
            let got = got.as_ref().ok().map(as_expected);
            prop_assert!(want.allows(got.as_ref()), "expected {want:?}, got {got:?}");
        }
    }

    /// Any stream (lengths off, frames swallowing each other, cut short) under tight limits:
    /// no panic, fatal errors leave the buffer alone, no reservation beyond the limit, and
    /// every message returned re-encodes to a frame that decodes to itself.
    #[test]
    fn any_stream_in_any_chunking_is_handled(
        stream in frame_gen::stream(4),
        chunks in prop::collection::vec(1usize..200, 1..8),
        max_frame_len in prop_oneof![Just(256usize), Just(4096), Just(1 << 20)],
    ) {
        let limits = Limits { max_frame_len, max_decompressed_len: 2048, ..Limits::default() };
        let bytes = stream.to_bytes();
        for got in decode_chunked(&bytes, &chunks, limits).into_iter().flatten() {
            let wire = got.to_bytes().expect("a decoded message encodes");
            let back = FrameDecoder::new(Limits { max_frame_len: usize::MAX, max_decompressed_len: usize::MAX, ..Limits::default() })
                .decode(&mut BytesMut::from(&wire[..]))
                .expect("re-encoded frame decodes")
                .expect("whole frame");
            prop_assert_eq!(back, got);
        }
    }
}

/// The generator is not degenerate: it makes well-formed frames, frames that must fail, and
/// frames whose inner lengths are off, in useful shares; and valid gzip in some of them.
#[test]
fn the_generator_covers_every_outcome() {
    use frame_gen::Outcome;
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut decodes, mut fails, mut unknown, mut gzip) = (0, 0, 0, 0);
    let n = 2000;
    for _ in 0..n {
        let spec = frame_gen::delimited_frame()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        match spec.expected() {
            Outcome::Decodes(_) => {
                decodes += 1;
                gzip += usize::from(spec.compress_bits() == 1);
            }
            Outcome::DecodesOrFails(_) | Outcome::Fails => fails += 1,
            Outcome::Unknown => unknown += 1,
        }
    }
    assert!(decodes * 5 > n, "well-formed: {decodes} of {n}");
    assert!(fails * 10 > n, "must fail: {fails} of {n}");
    assert!(unknown * 10 > n, "shifted fields: {unknown} of {n}");
    assert!(gzip * 20 > n, "valid gzip: {gzip} of {n}");
}
