//! Typed server push: the server pushes a `T: Payload`, the client receives `Push<T>`, and the
//! channel ends when the connection closes, with the reason.

use fastrpc::{Client, Context, Metadata, SerializeType, Server};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Notice {
    id: u32,
    text: String,
}

struct Notifier;

#[fastrpc::service]
impl Notifier {
    /// Pushes `n` notices to the caller, in JSON and MessagePack, then a raw Go-style push.
    async fn subscribe(&self, ctx: &Context, n: u32) -> u32 {
        let conn = ctx.connection();
        for id in 0..n {
            let st = if id % 2 == 0 {
                SerializeType::JSON
            } else {
                SerializeType::MSGPACK
            };
            let notice = Notice {
                id,
                text: format!("notice {id}"),
            };
            conn.push_typed("Notifier", "Notice", Metadata::new(), &notice, st)
                .await
                .unwrap();
        }
        // As Go's SendMessage does: serialize type none, bytes the program chose (JSON here).
        conn.push(
            "Notifier",
            "Notice",
            Metadata::new(),
            fastrpc::bytes::Bytes::from_static(br#"{"id":99,"text":"raw"}"#),
        )
        .await
        .unwrap();
        n
    }
}

#[tokio::test]
async fn typed_pushes_then_end_of_channel() {
    let running = Server::builder()
        .service(Notifier)
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&format!("tcp@{}", running.local_addr()))
        .await
        .unwrap();
    let mut pushes = client.push_receiver::<Notice>().expect("first receiver");
    assert!(client.take_push_receiver().is_none(), "only one receiver");

    let notifier = NotifierClient::new(client.clone());
    assert_eq!(notifier.subscribe(&4).await.unwrap(), 4);
    for id in 0..4 {
        let push = pushes.recv().await.unwrap().unwrap();
        assert_eq!(push.value.id, id);
        assert_eq!(push.value.text, format!("notice {id}"));
        assert_eq!(push.service_method, "Notice");
    }
    let raw = pushes.recv().await.unwrap().unwrap();
    assert_eq!(raw.value.id, 99);

    // The server goes away: the channel ends, and says why.
    running.shutdown(Duration::from_secs(5)).await;
    let end = tokio::time::timeout(Duration::from_secs(10), pushes.recv())
        .await
        .expect("the channel ends");
    assert!(end.is_none());
    assert!(pushes.close_reason().is_some());
    assert!(pushes.recv().await.is_none(), "stays ended");
}

#[tokio::test]
async fn a_push_that_does_not_decode_is_an_error_not_the_end() {
    let running = Server::builder()
        .service(Notifier)
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&format!("tcp@{}", running.local_addr()))
        .await
        .unwrap();
    // A receiver for the wrong type.
    let mut pushes = client.push_receiver::<Vec<u64>>().unwrap();
    NotifierClient::new(client.clone())
        .subscribe(&1)
        .await
        .unwrap();
    assert!(pushes.recv().await.unwrap().is_err());
    assert!(pushes.recv().await.unwrap().is_err(), "the raw push too");
    client.close();
    assert!(
        tokio::time::timeout(Duration::from_secs(10), pushes.recv())
            .await
            .unwrap()
            .is_none()
    );
    running.shutdown(Duration::from_secs(5)).await;
}
