//! The two workloads: an opaque 581-byte payload and rpcx-benchmark's `BenchmarkMessage`.
//!
//! The message is written by hand with `prost`'s derive (proto2 `required` and `optional`
//! fields), so building the benchmark needs no `protoc`. Field numbers, types and defaults
//! follow `proto/benchmark.proto` of rpcx-benchmark; the values follow its `PrepareArgs`:
//! every integer 100000, every bool true, every string the same 54-byte text, which makes the
//! encoded message exactly [`PAYLOAD_LEN`] bytes long, the size of the opaque payload too.

use bytes::Bytes;

/// Size in bytes of both workloads' request payload.
pub const PAYLOAD_LEN: usize = 581;

/// The text every string field carries (18 CJK characters, 54 bytes of UTF-8), as in
/// rpcx-benchmark.
pub const TEXT: &str = "许多往事在眼前一幕一幕，变的那麼模糊";

/// rpcx-benchmark's `BenchmarkMessage` (proto2), service `Hello`, method `Say`.
#[allow(missing_docs)] // the fields carry no meaning beyond their number
#[derive(Clone, PartialEq, prost::Message)]
pub struct BenchmarkMessage {
    #[prost(string, required, tag = "1")]
    pub field1: String,
    #[prost(string, optional, tag = "9")]
    pub field9: Option<String>,
    #[prost(string, optional, tag = "18")]
    pub field18: Option<String>,
    #[prost(bool, optional, tag = "80", default = "false")]
    pub field80: Option<bool>,
    #[prost(bool, optional, tag = "81", default = "true")]
    pub field81: Option<bool>,
    #[prost(int32, required, tag = "2")]
    pub field2: i32,
    #[prost(int32, required, tag = "3")]
    pub field3: i32,
    #[prost(int32, optional, tag = "280")]
    pub field280: Option<i32>,
    #[prost(int32, optional, tag = "6", default = "0")]
    pub field6: Option<i32>,
    #[prost(int64, optional, tag = "22")]
    pub field22: Option<i64>,
    #[prost(string, optional, tag = "4")]
    pub field4: Option<String>,
    #[prost(fixed64, repeated, packed = "false", tag = "5")]
    pub field5: Vec<u64>,
    #[prost(bool, optional, tag = "59", default = "false")]
    pub field59: Option<bool>,
    #[prost(string, optional, tag = "7")]
    pub field7: Option<String>,
    #[prost(int32, optional, tag = "16")]
    pub field16: Option<i32>,
    #[prost(int32, optional, tag = "130", default = "0")]
    pub field130: Option<i32>,
    #[prost(bool, optional, tag = "12", default = "true")]
    pub field12: Option<bool>,
    #[prost(bool, optional, tag = "17", default = "true")]
    pub field17: Option<bool>,
    #[prost(bool, optional, tag = "13", default = "true")]
    pub field13: Option<bool>,
    #[prost(bool, optional, tag = "14", default = "true")]
    pub field14: Option<bool>,
    #[prost(int32, optional, tag = "104", default = "0")]
    pub field104: Option<i32>,
    #[prost(int32, optional, tag = "100", default = "0")]
    pub field100: Option<i32>,
    #[prost(int32, optional, tag = "101", default = "0")]
    pub field101: Option<i32>,
    #[prost(string, optional, tag = "102")]
    pub field102: Option<String>,
    #[prost(string, optional, tag = "103")]
    pub field103: Option<String>,
    #[prost(int32, optional, tag = "29", default = "0")]
    pub field29: Option<i32>,
    #[prost(bool, optional, tag = "30", default = "false")]
    pub field30: Option<bool>,
    #[prost(int32, optional, tag = "60", default = "-1")]
    pub field60: Option<i32>,
    #[prost(int32, optional, tag = "271", default = "-1")]
    pub field271: Option<i32>,
    #[prost(int32, optional, tag = "272", default = "-1")]
    pub field272: Option<i32>,
    #[prost(int32, optional, tag = "150")]
    pub field150: Option<i32>,
    #[prost(int32, optional, tag = "23", default = "0")]
    pub field23: Option<i32>,
    #[prost(bool, optional, tag = "24", default = "false")]
    pub field24: Option<bool>,
    #[prost(int32, optional, tag = "25", default = "0")]
    pub field25: Option<i32>,
    #[prost(bool, optional, tag = "78")]
    pub field78: Option<bool>,
    #[prost(int32, optional, tag = "67", default = "0")]
    pub field67: Option<i32>,
    #[prost(int32, optional, tag = "68")]
    pub field68: Option<i32>,
    #[prost(int32, optional, tag = "128", default = "0")]
    pub field128: Option<i32>,
    #[prost(string, optional, tag = "129", default = "xxxxxxxxxxxxxxxxxxxxx")]
    pub field129: Option<String>,
    #[prost(int32, optional, tag = "131", default = "0")]
    pub field131: Option<i32>,
}

/// The request every caller sends, filled as rpcx-benchmark's `PrepareArgs` fills it.
pub fn prepare_message() -> BenchmarkMessage {
    const I: i32 = 100_000;
    let s = || Some(TEXT.to_owned());
    BenchmarkMessage {
        field1: TEXT.to_owned(),
        field9: s(),
        field18: s(),
        field80: Some(true),
        field81: Some(true),
        field2: I,
        field3: I,
        field280: Some(I),
        field6: Some(I),
        field22: Some(i64::from(I)),
        field4: s(),
        field5: Vec::new(),
        field59: Some(true),
        field7: s(),
        field16: Some(I),
        field130: Some(I),
        field12: Some(true),
        field17: Some(true),
        field13: Some(true),
        field14: Some(true),
        field104: Some(I),
        field100: Some(I),
        field101: Some(I),
        field102: s(),
        field103: s(),
        field29: Some(I),
        field30: Some(true),
        field60: Some(I),
        field271: Some(I),
        field272: Some(I),
        field150: Some(I),
        field23: Some(I),
        field24: Some(true),
        field25: Some(I),
        field78: Some(true),
        field67: Some(I),
        field68: Some(I),
        field128: Some(I),
        field129: s(),
        field131: Some(I),
    }
}

/// What the `Hello.Say` handler does to a request before it sends it back.
pub fn reply_to(mut msg: BenchmarkMessage) -> BenchmarkMessage {
    msg.field1 = "OK".to_owned();
    msg.field2 = 100;
    msg
}

/// Whether `msg` is what [`reply_to`] makes of a request.
pub fn is_reply(msg: &BenchmarkMessage) -> bool {
    msg.field1 == "OK" && msg.field2 == 100
}

/// The opaque payload: [`PAYLOAD_LEN`] bytes of a fixed pattern.
pub fn opaque_payload() -> Bytes {
    Bytes::from(
        (0..PAYLOAD_LEN)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn benchmark_message_encodes_to_581_bytes() {
        let msg = prepare_message();
        assert_eq!(TEXT.len(), 54);
        assert_eq!(msg.encoded_len(), PAYLOAD_LEN);
        let wire = msg.encode_to_vec();
        assert_eq!(wire.len(), PAYLOAD_LEN);
        assert_eq!(BenchmarkMessage::decode(&wire[..]).unwrap(), msg);
    }

    #[test]
    fn reply_is_recognised() {
        let reply = reply_to(prepare_message());
        assert!(is_reply(&reply));
        assert!(!is_reply(&prepare_message()));
    }

    #[test]
    fn opaque_payload_has_the_same_size() {
        assert_eq!(opaque_payload().len(), PAYLOAD_LEN);
    }
}
