//! Structure-aware generators of rpcx frames, for property tests that must get past the magic
//! byte and the length check (random bytes almost never do).
//!
//! A [`FrameSpec`] is a frame described field by field: a valid magic byte and header with
//! random flags, serialize and compress bits; service path, method, metadata block and payload,
//! each with a length prefix that is usually right and sometimes off by a little or a lot;
//! metadata blocks with random counts and lengths; gzip payloads that are real, truncated,
//! bit-flipped or garbage behind a gzip header. A [`StreamSpec`] concatenates frames and may cut
//! the stream short. [`FrameSpec::expected`] is an independent oracle: what a correct decoder
//! must return for a frame whose `totalLen` is right.
//!
//! Shared by `crates/core/tests/structured.rs` and the facade's socket tests
//! (`crates/fastrpc/tests/structured_server.rs`, through `#[path]`), so it depends only on
//! `proptest` and `fastrpc-core`'s public gzip function.

#![allow(dead_code, unreachable_pub)]

use proptest::prelude::*;

/// The rpcx magic byte.
pub const MAGIC: u8 = 0x08;

/// How a length prefix relates to the bytes that follow it.
#[derive(Debug, Clone)]
pub enum Len {
    /// The real length.
    Exact,
    /// The real length plus a small error (may point past the end, or leave bytes over).
    Delta(i64),
    /// Any value at all (usually far past the end).
    Value(u32),
}

impl Len {
    /// The value written for `actual` bytes.
    pub fn apply(&self, actual: usize) -> u32 {
        match self {
            Len::Exact => actual as u32,
            Len::Delta(d) => (actual as i64 + d).clamp(0, i64::from(u32::MAX)) as u32,
            Len::Value(v) => *v,
        }
    }

    /// True when the written value is the real length.
    pub fn is_exact(&self, actual: usize) -> bool {
        self.apply(actual) as usize == actual
    }
}

/// Mostly right, sometimes slightly wrong, sometimes absurd.
pub fn len() -> impl Strategy<Value = Len> {
    prop_oneof![
        40 => Just(Len::Exact),
        3 => (-6i64..=6).prop_map(Len::Delta),
        1 => any::<u32>().prop_map(Len::Value),
        1 => prop_oneof![
            Just(0u32),
            Just(u32::MAX),
            Just(0x7fff_ffff),
            Just(16 << 20),
            Just((16 << 20) + 1),
        ]
        .prop_map(Len::Value),
    ]
}

/// A length-prefixed byte string.
#[derive(Debug, Clone)]
pub struct Field {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its length prefix.
    pub len: Len,
}

impl Field {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.len.apply(self.bytes.len()).to_be_bytes());
        out.extend_from_slice(&self.bytes);
    }

    fn is_exact(&self) -> bool {
        self.len.is_exact(self.bytes.len())
    }

    fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

/// Bytes for names and metadata: mostly short ASCII, sometimes any bytes (maybe not UTF-8).
pub fn name_bytes(known: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(known).prop_map(|s| s.as_bytes().to_vec()),
        4 => "[A-Za-z_.]{0,12}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..24),
    ]
}

fn field(known: &'static [&'static str]) -> impl Strategy<Value = Field> {
    (name_bytes(known), len()).prop_map(|(bytes, len)| Field { bytes, len })
}

/// The metadata block: pairs, then maybe stray bytes, behind the block's length prefix.
#[derive(Debug, Clone)]
pub struct MetaSpec {
    /// Key and value fields.
    pub pairs: Vec<(Field, Field)>,
    /// Bytes after the last pair, inside the block (a correct block has none).
    pub trailing: Vec<u8>,
    /// The block's length prefix.
    pub len: Len,
}

const META_KEYS: &[&str] = &["__AUTH", "__ServerTimeout", "__rpcx_error__", "k", ""];

fn meta() -> impl Strategy<Value = MetaSpec> {
    let pair = (
        field(META_KEYS),
        field(&["v", "499", "0", "-1", "bearer x"]),
    );
    (
        prop::collection::vec(pair, 0..5),
        prop_oneof![
            8 => Just(Vec::new()),
            1 => prop::collection::vec(any::<u8>(), 1..9)
        ],
        len(),
    )
        .prop_map(|(pairs, trailing, len)| MetaSpec {
            pairs,
            trailing,
            len,
        })
}

impl MetaSpec {
    fn block(&self) -> Vec<u8> {
        let mut b = Vec::new();
        for (k, v) in &self.pairs {
            k.write(&mut b);
            v.write(&mut b);
        }
        b.extend_from_slice(&self.trailing);
        b
    }

    /// True when every length in the block is right and nothing stray follows the pairs, so
    /// the block's meaning is known.
    fn is_exact(&self) -> bool {
        self.len.is_exact(self.block().len())
            && self.trailing.is_empty()
            && self.pairs.iter().all(|(k, v)| k.is_exact() && v.is_exact())
    }

    /// For an exact block: the metadata, sorted, last value winning; None if a key or value
    /// is not UTF-8.
    fn expected(&self) -> Option<Vec<(String, String)>> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.pairs {
            let (k, v) = (k.text()?.to_owned(), v.text()?.to_owned());
            out.retain(|(old, _)| *old != k);
            out.push((k, v));
        }
        out.sort();
        Some(out)
    }
}

/// What the payload bytes are.
#[derive(Debug, Clone)]
pub enum PayloadSpec {
    /// Any bytes.
    Garbage(Vec<u8>),
    /// A real gzip stream of these bytes.
    Gzip(Vec<u8>),
    /// A real gzip stream of these bytes, cut after `cut` bytes (modulo its length).
    GzipTruncated(Vec<u8>, usize),
    /// A real gzip stream with one bit flipped at `at` (modulo its length).
    GzipFlipped(Vec<u8>, usize, u8),
    /// A gzip member header followed by garbage.
    GzipHeaderGarbage(Vec<u8>),
}

impl PayloadSpec {
    /// The payload's wire bytes.
    pub fn wire(&self) -> Vec<u8> {
        let gz = |d: &[u8]| {
            fastrpc_core::compress::compress(fastrpc_core::CompressType::GZIP, d)
                .expect("gzip compresses")
                .to_vec()
        };
        match self {
            PayloadSpec::Garbage(b) => b.clone(),
            PayloadSpec::Gzip(d) => gz(d),
            PayloadSpec::GzipTruncated(d, cut) => {
                let mut z = gz(d);
                z.truncate(cut % z.len());
                z
            }
            PayloadSpec::GzipFlipped(d, at, bit) => {
                let mut z = gz(d);
                let i = at % z.len();
                z[i] ^= 1 << (bit % 8);
                z
            }
            PayloadSpec::GzipHeaderGarbage(g) => {
                let mut z = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
                z.extend_from_slice(g);
                z
            }
        }
    }
}

fn payload() -> impl Strategy<Value = PayloadSpec> {
    let data = || {
        prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 0..64),
            1 => (any::<u8>(), 0usize..5000).prop_map(|(b, n)| vec![b; n]),
        ]
    };
    prop_oneof![
        6 => data().prop_map(PayloadSpec::Garbage),
        4 => data().prop_map(PayloadSpec::Gzip),
        1 => (data(), any::<usize>()).prop_map(|(d, c)| PayloadSpec::GzipTruncated(d, c)),
        1 => (data(), any::<usize>(), any::<u8>())
            .prop_map(|(d, a, b)| PayloadSpec::GzipFlipped(d, a, b)),
        1 => prop::collection::vec(any::<u8>(), 0..32).prop_map(PayloadSpec::GzipHeaderGarbage),
    ]
}

/// One frame, field by field.
#[derive(Debug, Clone)]
pub struct FrameSpec {
    /// Header byte 1.
    pub version: u8,
    /// Header byte 2: type, heartbeat, oneway, compress and status bits.
    pub flags: u8,
    /// Header byte 3: serialize type (high nibble) and reserved bits.
    pub serialize: u8,
    /// Header bytes 4..12.
    pub seq: u64,
    /// Service path.
    pub path: Field,
    /// Service method.
    pub method: Field,
    /// Metadata block.
    pub meta: MetaSpec,
    /// The payload's own length prefix (Go ignores it; so must we).
    pub payload_len: Len,
    /// The payload.
    pub payload: PayloadSpec,
    /// `totalLen` of the prefix.
    pub total_len: Len,
}

/// Compress bits: usually those that match the payload (none for plain bytes, gzip for gzip),
/// sometimes any of the 8.
fn compress_bits() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![8 => Just(None), 1 => (0u8..8).prop_map(Some)]
}

/// Serialize byte: mostly a known type, sometimes any byte.
fn serialize_byte() -> impl Strategy<Value = u8> {
    prop_oneof![4 => (0u8..5).prop_map(|s| s << 4), 1 => any::<u8>()]
}

/// A frame that starts with the magic byte.
pub fn frame() -> impl Strategy<Value = FrameSpec> {
    let header = (
        any::<u8>(),
        any::<u8>(),
        compress_bits(),
        serialize_byte(),
        any::<u64>(),
    );
    let body = (
        field(&["Echo", "Arith", ""]),
        field(&["Echo", "Mul", ""]),
        meta(),
        len(),
        payload(),
        len(),
    );
    (header, body).prop_map(
        |(
            (version, flags, ct, serialize, seq),
            (path, method, meta, payload_len, payload, total_len),
        )| {
            let ct = ct.unwrap_or(match payload {
                PayloadSpec::Garbage(_) => 0,
                _ => 1,
            });
            FrameSpec {
                version,
                flags: (flags & !0x1c) | (ct << 2),
                serialize,
                seq,
                path,
                method,
                meta,
                payload_len,
                payload,
                total_len,
            }
        },
    )
}

/// A frame whose `totalLen` is right, so a decoder can always delimit it.
pub fn delimited_frame() -> impl Strategy<Value = FrameSpec> {
    frame().prop_map(|mut f| {
        f.total_len = Len::Exact;
        f
    })
}

/// What a correct decoder returns for a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Header bytes 1..4 and the seq.
    pub version: u8,
    /// Flags byte.
    pub flags: u8,
    /// Serialize byte.
    pub serialize: u8,
    /// Seq.
    pub seq: u64,
    /// Service path.
    pub path: String,
    /// Service method.
    pub method: String,
    /// Metadata, sorted, last value winning.
    pub metadata: Vec<(String, String)>,
    /// The payload after decompression.
    pub payload: Vec<u8>,
}

impl FrameSpec {
    /// The compress bits of the flags.
    pub fn compress_bits(&self) -> u8 {
        (self.flags >> 2) & 0x07
    }

    /// The frame body (after the 16-byte prefix).
    fn body(&self) -> Vec<u8> {
        let mut b = Vec::new();
        self.path.write(&mut b);
        self.method.write(&mut b);
        let block = self.meta.block();
        b.extend_from_slice(&self.meta.len.apply(block.len()).to_be_bytes());
        b.extend_from_slice(&block);
        let wire = self.payload.wire();
        b.extend_from_slice(&self.payload_len.apply(wire.len()).to_be_bytes());
        b.extend_from_slice(&wire);
        b
    }

    /// The frame's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = self.body();
        let mut out = vec![MAGIC, self.version, self.flags, self.serialize];
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.total_len.apply(body.len()).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// True when `totalLen` is right (whatever is inside).
    pub fn is_delimited(&self) -> bool {
        self.total_len.is_exact(self.body().len())
    }

    /// What a correct decoder does with this frame (limits permitting), derived from the spec
    /// alone, not from the decoder under test.
    pub fn expected(&self) -> Outcome {
        if !self.is_delimited() {
            return Outcome::Fails;
        }
        if !self.path.is_exact() || !self.method.is_exact() || !self.meta.is_exact() {
            // The fields shift: what comes out depends on the bytes that land where.
            return Outcome::Unknown;
        }
        let Some(metadata) = self.meta.expected() else {
            return Outcome::Fails;
        };
        let (Some(path), Some(method)) = (self.path.text(), self.method.text()) else {
            return Outcome::Fails;
        };
        let message = |payload: Vec<u8>| Expected {
            version: self.version,
            flags: self.flags,
            serialize: self.serialize,
            seq: self.seq,
            path: path.to_owned(),
            method: method.to_owned(),
            metadata: metadata.clone(),
            payload,
        };
        match (self.compress_bits(), &self.payload) {
            (0, p) => Outcome::Decodes(message(p.wire())),
            (1, PayloadSpec::Gzip(d)) => Outcome::Decodes(message(d.clone())),
            // A flipped bit in a field gzip ignores (mtime, flags, OS) changes nothing; anywhere
            // else the CRC or the format catches it.
            (1, PayloadSpec::GzipFlipped(d, ..)) => Outcome::DecodesOrFails(message(d.clone())),
            _ => Outcome::Fails, // truncated or garbage gzip, or an unregistered compressor
        }
    }
}

/// What a correct decoder does with one delimited frame.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It returns this message.
    Decodes(Expected),
    /// It returns this message or a non-fatal error.
    DecodesOrFails(Expected),
    /// It returns a non-fatal error (the frame is consumed).
    Fails,
    /// An inner length is off, so the fields shift: a message or a non-fatal error.
    Unknown,
}

impl Outcome {
    /// True when `got` (a decoded message, or an error) is allowed.
    pub fn allows(&self, got: Option<&Expected>) -> bool {
        match (self, got) {
            (Outcome::Decodes(want), Some(got)) => want == got,
            (Outcome::DecodesOrFails(want), Some(got)) => want == got,
            (Outcome::DecodesOrFails(_) | Outcome::Fails, None) => true,
            (Outcome::Unknown, _) => true,
            _ => false,
        }
    }
}

/// Several frames back to back, maybe cut short.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// The frames.
    pub frames: Vec<FrameSpec>,
    /// Where to cut the stream (an index into its bytes), if at all.
    pub cut: Option<prop::sample::Index>,
}

impl StreamSpec {
    /// The stream's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.frames.iter().flat_map(FrameSpec::to_bytes).collect();
        if let Some(cut) = &self.cut {
            let at = cut.index(out.len().max(1));
            out.truncate(at);
        }
        out
    }
}

/// Up to `max` frames, concatenated, cut short one time in four.
pub fn stream(max: usize) -> impl Strategy<Value = StreamSpec> {
    (
        prop::collection::vec(frame(), 1..=max),
        prop_oneof![3 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)],
    )
        .prop_map(|(frames, cut)| StreamSpec { frames, cut })
}
