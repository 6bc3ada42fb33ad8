//! A user codec registered for a serialize type, called through over real TCP: the client
//! encodes with it, the server decodes the argument and encodes the reply with it, and the
//! client decodes the reply with it, with no change to either side but the registration.
//!
//! rpcx's header keeps the serialize type in 4 bits, so the issue's "serialize type 100"
//! cannot travel: Go's `SetSerializeType(100)` puts `0x640 as u8 = 0x40` in the header, which
//! a server reads as 4 (Thrift). fastrpc refuses 100 up front, and this uses 10; see
//! `user_codec.rs` for the refusal.

use bytes::{BufMut, BytesMut};
use fastrpc_client::{CallOptions, Client, ClientOptions};
use fastrpc_codec::{BoxError, Codec, DecodeSink, erased_serde, register_codec};
use fastrpc_core::{CompressType, Message, ProtocolError, SerializeType};
use fastrpc_server::{Connection, Context, PluginError, Server, ServerPlugin, ServiceError};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// JSON behind a `#` marker, so the test can tell it from the built-in JSON on the wire.
struct TaggedJson;

impl Codec for TaggedJson {
    fn name(&self) -> &str {
        "tagged-json"
    }

    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        dst: &mut BytesMut,
    ) -> Result<(), BoxError> {
        dst.put_u8(b'#');
        Ok(serde_json::to_writer(dst.writer(), value)?)
    }

    fn decode(&self, src: &[u8], sink: &mut DecodeSink<'_>) -> Result<(), BoxError> {
        let body = src.strip_prefix(b"#").ok_or("missing the # tag")?;
        let mut de = serde_json::Deserializer::from_slice(body);
        sink(&mut <dyn erased_serde::Deserializer<'_>>::erase(&mut de))?;
        Ok(de.end()?)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Words {
    words: Vec<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Count {
    n: usize,
    first: Option<String>,
}

/// Records every request's serialize type, compress type and payload.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(SerializeType, CompressType, bytes::Bytes)>>>);

impl ServerPlugin for Seen {
    fn post_read_request(
        &self,
        _c: &Connection,
        msg: Result<&Message, &ProtocolError>,
    ) -> Result<(), PluginError> {
        if let Ok(m) = msg {
            let h = &m.header;
            self.0
                .lock()
                .unwrap()
                .push((h.serialize_type(), h.compress_type(), m.payload.clone()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_user_codec_serves_client_and_server() {
    let st = SerializeType::new(10).unwrap();
    register_codec(st, TaggedJson).unwrap();

    let seen = Seen::default();
    let srv = Server::builder()
        .handler("Words", "Count", |_c: Context, w: Words| async move {
            Ok::<_, ServiceError>(Count {
                n: w.words.len(),
                first: w.words.first().cloned(),
            })
        })
        .plugin(seen.clone())
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let addr = format!("tcp@{}", srv.local_addr());
    // One client picks the codec per call, the other makes it its default (with gzip).
    let plain = Client::connect(&addr).await.unwrap();
    let gzip = Client::connect_with(
        &addr,
        ClientOptions::default()
            .serialize_type(st)
            .compress_type(CompressType::GZIP),
    )
    .await
    .unwrap();

    let small = Words {
        words: vec!["a".into(), "b".into()],
    };
    let reply = plain
        .call_with::<_, Count>(
            "Words",
            "Count",
            &small,
            CallOptions::default().serialize_type(st),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.value,
        Count {
            n: 2,
            first: Some("a".into())
        }
    );

    let large = Words {
        words: (0..500).map(|i| format!("word{i}")).collect(),
    };
    let reply: Count = gzip.call("Words", "Count", &large).await.unwrap();
    assert_eq!(
        reply,
        Count {
            n: 500,
            first: Some("word0".into())
        }
    );

    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!((seen[0].0, seen[0].1), (st, CompressType::NONE));
    assert_eq!(
        &seen[0].2[..],
        br#"#{"words":["a","b"]}"#,
        "the codec's bytes on the wire"
    );
    assert_eq!((seen[1].0, seen[1].1), (st, CompressType::GZIP));
    assert!(seen[1].2.starts_with(b"#{\"words\":[\"word0\""));

    // A payload the codec refuses is an error reply naming the codec; the call fails typed.
    let mut req = Message::request("Words", "Count");
    req.header.set_serialize_type(st);
    req.payload = bytes::Bytes::from_static(br#"{"words":[]}"#);
    let res = plain.send_raw(req, None).await.unwrap().unwrap();
    assert_eq!(
        res.metadata.get("__rpcx_error__").map(|v| v.to_string()),
        Some("tagged-json (serialize type 10): missing the # tag".to_owned())
    );
}
