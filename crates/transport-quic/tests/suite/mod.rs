//! One integration suite for every byte-stream transport: the same test bodies run over each
//! transport's listener and dialer. A transport's test file supplies a [`Serve`] function
//! (serve this server, return a dialer) and calls these bodies.
//!
//! Shared by `fastrpc-transport-quic` and `fastrpc-transport-ws` (the latter includes this file
//! by path).

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fastrpc_client::{CallOptions, Client, ClientOptions};
use fastrpc_core::Message;
use fastrpc_server::{Context, Metadata, Proto, Raw, SerializeType, Server, ServiceError};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// Generous: a loaded 2-core machine runs these.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// Dials the served server with these client options.
pub type Dial = Arc<dyn Fn(ClientOptions) -> BoxFuture<Client> + Send + Sync>;
/// Serves a server on a fresh listener of the transport under test.
pub type Serve = fn(Server) -> BoxFuture<Dial>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub a: i64,
    pub s: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PbPair {
    #[prost(int64, tag = "1")]
    pub a: i64,
    #[prost(string, tag = "2")]
    pub s: String,
}

/// The suite's services: echoes, an error, a oneway sink, a push, a slow call.
pub fn server(oneway_tx: mpsc::UnboundedSender<Raw>) -> Server {
    Server::builder()
        .handler("Echo", "Raw", |_c: Context, a: Raw| async move {
            Ok::<_, ServiceError>(a)
        })
        .handler("Echo", "Pair", |_c: Context, a: Pair| async move {
            Ok::<_, ServiceError>(Pair { a: a.a + 1, s: a.s })
        })
        .handler(
            "Echo",
            "Proto",
            |_c: Context, a: Proto<PbPair>| async move {
                let PbPair { a, s } = a.0;
                Ok::<_, ServiceError>(Proto(PbPair { a: a + 1, s }))
            },
        )
        .handler("Echo", "Len", |_c: Context, a: Raw| async move {
            Ok::<_, ServiceError>(Raw::from(a.len().to_string().into_bytes()))
        })
        .handler("Echo", "Fail", |_c: Context, _a: Raw| async move {
            Err::<Raw, _>(ServiceError::new("it failed on purpose"))
        })
        .handler("Sink", "Put", move |_c: Context, a: Raw| {
            let tx = oneway_tx.clone();
            async move {
                let _ = tx.send(a);
                Ok::<_, ServiceError>(Raw::from(Vec::new()))
            }
        })
        .handler("Push", "Me", |c: Context, a: Raw| async move {
            c.connection()
                .push("Push", "Note", Metadata::new(), a.0.clone())
                .await
                .map_err(|e| ServiceError::new(e.to_string()))?;
            Ok::<_, ServiceError>(a)
        })
        .handler("Slow", "Sleep", |_c: Context, a: Raw| async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, ServiceError>(a)
        })
        .build()
}

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {PATIENCE:?}"))
}

async fn setup(serve: Serve) -> (Server, Dial, mpsc::UnboundedReceiver<Raw>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let srv = server(tx);
    let dial = serve(srv.clone()).await;
    (srv, dial, rx)
}

/// None (raw bytes), JSON, Protobuf and MessagePack, each a round trip.
pub async fn every_serialize_type(serve: Serve) {
    let (_srv, dial, _rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    let raw: Raw = within(
        "raw",
        client.call("Echo", "Raw", &Raw::from(b"\x00\xffbytes".to_vec())),
    )
    .await
    .unwrap();
    assert_eq!(&raw[..], b"\x00\xffbytes");
    for st in [SerializeType::JSON, SerializeType::MSGPACK] {
        let opts = CallOptions::default().serialize_type(st);
        let arg = Pair {
            a: 41,
            s: "héllo".into(),
        };
        let r = within(
            "serde",
            client.call_with::<_, Pair>("Echo", "Pair", &arg, opts),
        )
        .await
        .unwrap();
        assert_eq!(
            r.value,
            Pair {
                a: 42,
                s: "héllo".into()
            },
            "{st:?}"
        );
    }
    let opts = CallOptions::default().serialize_type(SerializeType::PROTOBUF);
    let arg = Proto(PbPair {
        a: 6,
        s: "pb".into(),
    });
    let r = within(
        "protobuf",
        client.call_with::<_, Proto<PbPair>>("Echo", "Proto", &arg, opts),
    )
    .await
    .unwrap();
    assert_eq!(
        r.value.0,
        PbPair {
            a: 7,
            s: "pb".into()
        }
    );
}

/// A 4 MiB payload both ways, intact.
pub async fn a_4_mib_payload(serve: Serve) {
    let (_srv, dial, _rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    let big: Vec<u8> = (0..4 * 1024 * 1024u32)
        .map(|i| ((i * 31) >> 3) as u8)
        .collect();
    let r: Raw = within("4 MiB", client.call("Echo", "Raw", &Raw::from(big.clone())))
        .await
        .unwrap();
    assert!(r[..] == big[..], "4 MiB came back intact");
}

/// A thousand calls in flight at once on one connection, each answered correctly.
pub async fn a_thousand_concurrent_calls(serve: Serve) {
    let (_srv, dial, _rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    let handles: Vec<_> = (0..1000u32)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let r: Raw = client
                    .call("Echo", "Len", &Raw::from(vec![7u8; i as usize]))
                    .await
                    .unwrap();
                assert_eq!(&r[..], i.to_string().as_bytes());
            })
        })
        .collect();
    within("1000 calls", async {
        for h in handles {
            h.await.unwrap();
        }
    })
    .await;
}

/// A handler's error and an unknown service come back as service errors; the connection
/// keeps working.
pub async fn error_replies(serve: Serve) {
    let (_srv, dial, _rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    let e = within(
        "fail",
        client.call::<_, Raw>("Echo", "Fail", &Raw::from(vec![1])),
    )
    .await
    .unwrap_err();
    assert!(e.is_service_error(), "{e}");
    assert!(e.to_string().contains("it failed on purpose"), "{e}");
    let e = within(
        "unknown",
        client.call::<_, Raw>("Nope", "Nope", &Raw::from(vec![1])),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("can't find service"), "{e}");
    let ok: Raw = within("after", client.call("Echo", "Raw", &Raw::from(vec![9])))
        .await
        .unwrap();
    assert_eq!(&ok[..], [9]);
}

/// A oneway call runs on the server and gets no reply.
pub async fn oneway(serve: Serve) {
    let (_srv, dial, mut rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    within(
        "oneway",
        client.oneway(
            "Sink",
            "Put",
            &Raw::from(b"fire".to_vec()),
            CallOptions::default(),
        ),
    )
    .await
    .unwrap();
    let got = within("oneway arrives", rx.recv()).await.unwrap();
    assert_eq!(&got[..], b"fire");
    assert_eq!(client.stats().pending_calls, 0);
}

/// A heartbeat is echoed; a client sending heartbeats stays up and keeps calling.
pub async fn heartbeat(serve: Serve) {
    let (_srv, dial, _rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    let hb = Message::heartbeat(0, 1_700_000_000_000_000_000);
    let echo = within("heartbeat", client.send_raw(hb.clone(), None))
        .await
        .unwrap()
        .unwrap();
    assert!(echo.header.is_heartbeat() && echo.header.is_response());
    assert_eq!(echo.payload, hb.payload);

    let opts = ClientOptions::default().heartbeat(Duration::from_millis(50), PATIENCE);
    let client = dial(opts).await;
    // Several heartbeat rounds go by.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!client.is_closed());
    let r: Raw = within(
        "after heartbeats",
        client.call("Echo", "Raw", &Raw::from(vec![3])),
    )
    .await
    .unwrap();
    assert_eq!(&r[..], [3]);
}

/// A handler pushes a message to its caller's connection.
pub async fn server_push(serve: Serve) {
    let (_srv, dial, _rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    let mut pushes = client.take_push_receiver().unwrap();
    let _: Raw = within(
        "push call",
        client.call("Push", "Me", &Raw::from(b"note".to_vec())),
    )
    .await
    .unwrap();
    let m = within("push arrives", pushes.recv()).await.unwrap();
    assert_eq!(&*m.service_path, "Push");
    assert_eq!(&*m.service_method, "Note");
    assert_eq!(&m.payload[..], b"note");
}

/// Graceful shutdown with a call in flight: the call is answered whole, then the
/// connection closes and the client notices.
pub async fn graceful_close(serve: Serve) {
    let (srv, dial, _rx) = setup(serve).await;
    let client = dial(ClientOptions::default()).await;
    let _: Raw = within("warm up", client.call("Echo", "Raw", &Raw::from(vec![1])))
        .await
        .unwrap();
    let payload = Bytes::from(vec![5u8; 100_000]);
    let slow = tokio::spawn({
        let client = client.clone();
        let payload = payload.clone();
        async move { client.call::<_, Raw>("Slow", "Sleep", &Raw(payload)).await }
    });
    // Wait until the server has the call in hand.
    within("in flight", async {
        while srv.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(within("shutdown", srv.shutdown(PATIENCE)).await, "drained");
    let r = within("slow call", slow).await.unwrap().unwrap();
    assert_eq!(r.0, payload);
    within("client sees the close", client.closed()).await;
}
