//! The payloads against what Go's `encoding/json` and `vmihailenco/msgpack/v5` write for the
//! `share` structs (field names from Go's json tags and field names; expected bytes written
//! out by hand from those rules).

use bytes::Bytes;
use fastrpc_codec::{Payload, SerializeType};
use fastrpc_filetransfer::{
    DownloadFileArgs, FileTransferArgs, FileTransferReply, StreamServiceArgs,
};
use std::collections::HashMap;

fn json<T: Payload>(v: &T) -> String {
    String::from_utf8(v.to_bytes(SerializeType::JSON).unwrap().to_vec()).unwrap()
}

fn meta() -> HashMap<String, String> {
    [("k".to_owned(), "v".to_owned())].into()
}

#[test]
fn json_uses_gos_tags_and_omits_empty_fields() {
    let args = FileTransferArgs {
        file_name: "a.txt".into(),
        file_size: 100,
        meta: meta(),
    };
    // json.Marshal(share.FileTransferArgs{FileName: "a.txt", FileSize: 100, Meta: {"k": "v"}})
    assert_eq!(
        json(&args),
        r#"{"file_name":"a.txt","file_size":100,"meta":{"k":"v"}}"#
    );
    let dl = DownloadFileArgs {
        file_name: "a.txt".into(),
        meta: HashMap::new(),
    };
    assert_eq!(json(&dl), r#"{"file_name":"a.txt"}"#);
    assert_eq!(
        json(&StreamServiceArgs { meta: meta() }),
        r#"{"meta":{"k":"v"}}"#
    );

    // []byte as standard base64: 32 bytes 0x00..0x1f.
    let reply = FileTransferReply {
        token: (0u8..32).collect(),
        addr: "127.0.0.1:8973".into(),
    };
    let expected =
        r#"{"token":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","addr":"127.0.0.1:8973"}"#;
    assert_eq!(json(&reply), expected);
    let back =
        FileTransferReply::decode(SerializeType::JSON, Bytes::from_static(expected.as_bytes()));
    assert_eq!(back.unwrap(), reply);
}

#[test]
fn json_from_go_decodes() {
    let go = br#"{"file_name":"report.pdf","file_size":1048576,"meta":{"owner":"ops"}}"#;
    let args = FileTransferArgs::decode(SerializeType::JSON, Bytes::from_static(go)).unwrap();
    assert_eq!(args.file_name, "report.pdf");
    assert_eq!(args.file_size, 1_048_576);
    assert_eq!(args.meta["owner"], "ops");
}

#[test]
fn msgpack_uses_go_field_names() {
    // What vmihailenco/msgpack v5 writes for share.FileTransferArgs{FileName: "a", FileSize: 2,
    // Meta: nil}: a map of all three fields by Go name, int64 as 0xd3, nil map as 0xc0.
    let go: &[u8] =
        b"\x83\xa8FileName\xa1a\xa8FileSize\xd3\x00\x00\x00\x00\x00\x00\x00\x02\xa4Meta\xc0";
    let args = FileTransferArgs::decode(SerializeType::MSGPACK, Bytes::from_static(go)).unwrap();
    assert_eq!(
        args,
        FileTransferArgs {
            file_name: "a".into(),
            file_size: 2,
            meta: HashMap::new()
        }
    );

    // share.FileTransferReply{Token: 32 bytes, Addr: "h:1"}: Token as bin 8.
    let mut go_reply = b"\x82\xa5Token\xc4\x20".to_vec();
    go_reply.extend(0u8..32);
    go_reply.extend_from_slice(b"\xa4Addr\xa3h:1");
    let reply =
        FileTransferReply::decode(SerializeType::MSGPACK, Bytes::from(go_reply.clone())).unwrap();
    assert_eq!(reply.token, (0u8..32).collect::<Vec<_>>());
    assert_eq!(reply.addr, "h:1");
    // Ours is byte-identical for the reply (no integers in it).
    assert_eq!(reply.to_bytes(SerializeType::MSGPACK).unwrap(), go_reply);
}
