//! Golden tests: every frame captured between a Go rpcx client and server
//! (`tests/data/rpcx-vectors.txt`, a copy of `shared/rpcx-vectors.txt`) and every vector in
//! `docs/PROTOCOL.md` decodes to the stated fields; frames with at most one metadata key
//! re-encode to the identical bytes; gzip frames are checked through their decoded payload.

use bytes::{Bytes, BytesMut};
use fastrpc_core::{CompressType, FrameDecoder, Message};

const VECTORS: &str = include_str!("data/rpcx-vectors.txt");

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_all(bytes: &[u8]) -> Message {
    let mut buf = BytesMut::from(bytes);
    let m = FrameDecoder::default()
        .decode(&mut buf)
        .unwrap()
        .expect("whole frame");
    assert!(buf.is_empty(), "decoder left {} bytes", buf.len());
    m
}

/// Decodes feeding one byte at a time, to prove the decoder is incremental.
fn decode_bytewise(bytes: &[u8]) -> Message {
    let mut dec = FrameDecoder::default();
    let mut buf = BytesMut::new();
    for (i, b) in bytes.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        if let Some(m) = dec.decode(&mut buf).unwrap() {
            assert_eq!(i, bytes.len() - 1, "frame completed early");
            return m;
        }
    }
    panic!("frame never completed");
}

fn parse_meta(hexs: &str) -> Vec<(String, String)> {
    let b = unhex(hexs);
    let mut out = Vec::new();
    let mut p = 0;
    let rd = |p: usize| u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
    while p < b.len() {
        let kl = rd(p);
        let k = String::from_utf8(b[p + 4..p + 4 + kl].to_vec()).unwrap();
        p += 4 + kl;
        let vl = rd(p);
        let v = String::from_utf8(b[p + 4..p + 4 + vl].to_vec()).unwrap();
        p += 4 + vl;
        out.push((k, v));
    }
    out
}

fn sorted_meta(m: &Message) -> Vec<(String, String)> {
    let mut v: Vec<_> = m
        .metadata
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    v.sort();
    v
}

/// Checks the re-encoding rule shared by every vector.
fn check_reencode(name: &str, wire: &[u8], m: &Message) {
    let again = m.to_bytes().unwrap();
    if m.header.compress_type() != CompressType::NONE {
        // Compressed bytes are not reproducible across implementations: check the payload.
        assert_eq!(
            decode_all(&again).payload,
            m.payload,
            "{name}: gzip round trip"
        );
    } else if m.metadata.len() <= 1 {
        assert_eq!(hex(&again), hex(wire), "{name}: re-encoding differs");
    } else {
        assert_eq!(again.len(), wire.len(), "{name}: length differs");
        assert_eq!(sorted_meta(&decode_all(&again)), sorted_meta(m), "{name}");
    }
}

struct CapturedFrame {
    name: String,
    wire: Vec<u8>,
    header: String,
    total_len: usize,
    service: String,
    method: String,
    meta_hex: String,
    payload_hex: String,
}

fn section_a() -> Vec<CapturedFrame> {
    let mut out = Vec::new();
    let mut lines = VECTORS.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("[A") else {
            continue;
        };
        let name = format!("A{}", rest.split_whitespace().next().unwrap());
        let wire = unhex(lines.next().unwrap().trim().strip_prefix("hex: ").unwrap());
        let fields = lines.next().unwrap().trim();
        let get = |key: &str| -> String {
            let start = fields.find(&format!("{key}=")).unwrap() + key.len() + 1;
            let rest = &fields[start..];
            if let Some(q) = rest.strip_prefix('\'') {
                q[..q.find('\'').unwrap()].to_owned()
            } else {
                rest.split_whitespace().next().unwrap_or("").to_owned()
            }
        };
        let meta_hex = get("meta_hex");
        out.push(CapturedFrame {
            name,
            header: get("header"),
            total_len: get("total_len").parse().unwrap(),
            service: get("service"),
            method: get("method"),
            meta_hex: if meta_hex == "(empty)" {
                String::new()
            } else {
                meta_hex
            },
            payload_hex: get("payload_hex"),
            wire,
        });
    }
    out
}

#[test]
fn section_a_captured_frames() {
    let frames = section_a();
    assert_eq!(frames.len(), 19, "all captured frames parsed");
    for f in &frames {
        let m = decode_all(&f.wire);
        assert_eq!(m, decode_bytewise(&f.wire), "{}: bytewise decode", f.name);
        assert_eq!(hex(&m.header.to_bytes()), f.header, "{}: header", f.name);
        assert_eq!(f.wire.len(), 16 + f.total_len, "{}: total_len", f.name);
        assert_eq!(m.service_path, f.service.as_str(), "{}: path", f.name);
        assert_eq!(m.service_method, f.method.as_str(), "{}: method", f.name);
        let mut want = parse_meta(&f.meta_hex);
        want.sort();
        assert_eq!(sorted_meta(&m), want, "{}: metadata", f.name);
        if m.header.compress_type() == CompressType::GZIP {
            // payload_hex holds the compressed bytes as captured.
            let z = unhex(&f.payload_hex);
            assert!(f.wire.ends_with(&z), "{}: compressed payload", f.name);
            assert_eq!(m.payload.len(), 1025, "{}: decompressed length", f.name);
            assert!(m.payload.starts_with(b"abcdefghijklmnopqrstuvwxyzabc"));
        } else if let Some(prefix) = f.payload_hex.strip_suffix("...") {
            assert!(
                hex(&m.payload).starts_with(prefix),
                "{}: payload prefix",
                f.name
            );
        } else {
            assert_eq!(hex(&m.payload), f.payload_hex, "{}: payload", f.name);
        }
        check_reencode(&f.name, &f.wire, &m);
    }
}

#[test]
fn section_a_semantics() {
    let frames = section_a();
    let by = |n: &str| decode_all(&frames.iter().find(|f| f.name == n).unwrap().wire);
    // A8: error status, __rpcx_error__ and a reply payload.
    let a8 = by("A8");
    assert!(a8.header.is_response() && a8.header.is_error());
    assert_eq!(a8.error_text(), Some("intentional error: A=1 B=2"));
    assert_eq!(&a8.payload[..], br#"{"C":0}"#);
    // A9 and A19: Go's exact texts for unknown method and service, empty payload.
    assert_eq!(
        by("A9").error_text(),
        Some("rpcx: can't find method NoSuch")
    );
    assert_eq!(
        by("A19").error_text(),
        Some("rpcx: can't find service Nope")
    );
    assert_eq!(
        fastrpc_core::errors::cant_find_service("Nope"),
        "rpcx: can't find service Nope"
    );
    // A10: oneway request.
    assert!(by("A10").header.is_oneway());
    // A13: 1024 bytes with the gzip option stays uncompressed (threshold is > 1024).
    let a13 = by("A13");
    assert_eq!(a13.payload.len(), 1024);
    assert_eq!(a13.header.compress_type(), CompressType::NONE);
    assert!(!CompressType::GZIP.applies_to(a13.payload.len()));
    // A14/A15: 1025 bytes compressed both ways.
    assert_eq!(by("A14").header.compress_type(), CompressType::GZIP);
    assert_eq!(by("A15").payload, by("A14").payload);
    // A16/A17: the heartbeat reply is the request with bit 0x80 set.
    let (a16, a17) = (by("A16"), by("A17"));
    assert!(a16.header.is_heartbeat() && !a16.header.is_response());
    let mut echo = a16.clone();
    echo.header
        .set_message_type(fastrpc_core::MessageType::Response);
    assert_eq!(echo, a17);
    // A2/A4/A6: the reply header is the request header with the response bit.
    assert_eq!(by("A1").header.reply_header(), by("A2").header);
    assert_eq!(by("A3").header.reply_header(), by("A4").header);
}

#[test]
fn section_b_encoded_vectors() {
    let mut seen = 0;
    for line in VECTORS.lines() {
        let Some(start) = line.find(" hex=") else {
            continue;
        };
        if !line.starts_with("vec") {
            continue;
        }
        let name = line.split_whitespace().next().unwrap();
        let wire = unhex(line[start + 5..].trim());
        let m = decode_all(&wire);
        assert!(
            m.metadata.len() <= 1,
            "{name}: section B vectors have at most one key"
        );
        check_reencode(name, &wire, &m);
        seen += 1;
        if name.starts_with("vec6") {
            assert_eq!(m.payload.len(), 2000);
            assert!(m.payload.iter().all(|&b| b == b'a'));
            assert_eq!(m.header.compress_type(), CompressType::GZIP);
        }
        if name.starts_with("vec5") {
            assert_eq!(m.error_text(), Some("boom"));
        }
    }
    assert_eq!(seen, 6);
}

/// The vectors of `docs/PROTOCOL.md` §1.11, built independently from the layout.
#[test]
fn protocol_doc_vectors() {
    let test_message = "0800001000000000499602d2000000620000000541726974680000000341646400000030000000045f5f49440000002436626137623831302d396461642d313164312d383062342d3030633034666434333063390000001a7b0a09092241223a20312c0a09092242223a20322c0a097d0a09";
    let m = decode_all(&unhex(test_message));
    assert_eq!(m.header.seq, 1234567890);
    assert_eq!(
        m.metadata.get("__ID"),
        Some("6ba7b810-9dad-11d1-80b4-00c04fd430c9")
    );
    assert_eq!(&m.payload[..], b"{\n\t\t\"A\": 1,\n\t\t\"B\": 2,\n\t}\n\t");
    // Built from scratch, it gives the same bytes.
    let mut built = Message::request("Arith", "Add");
    built.header.seq = 1234567890;
    built
        .header
        .set_serialize_type(fastrpc_core::SerializeType::JSON);
    built
        .metadata
        .insert("__ID", "6ba7b810-9dad-11d1-80b4-00c04fd430c9");
    built.payload = Bytes::from_static(b"{\n\t\t\"A\": 1,\n\t\t\"B\": 2,\n\t}\n\t");
    assert_eq!(hex(&built.to_bytes().unwrap()), test_message);

    for v in [
        "08000010000000000000000000000027000000054172697468000000034d756c000000000000000f7b2241223a31302c2242223a32307d",
        "08008010000000000000000000000021000000054172697468000000034d756c00000000000000097b2243223a3230307d",
        "0800003000000000000000010000002f000000054172697468000000034d756c000000000000001782a141d3000000000000000aa142d30000000000000014",
        "08008030000000000000000100000024000000054172697468000000034d756c000000000000000c81a143d300000000000000c8",
        "0800811000000000499602d20000004900000005417269746800000003416464000000310000000e5f5f727063785f6572726f725f5f0000001b727063783a2063616e27742066696e64206d6574686f642041646400000000",
        "0800403000000000000000050000001900000000000000000000000000000009d317979cfe362a0000",
    ] {
        let wire = unhex(v);
        let m = decode_all(&wire);
        check_reencode(v, &wire, &m);
    }
}
