//! The stream service over real sockets: an echo, and a stream the acceptor refuses.

mod support;

use fastrpc_filetransfer::{NOT_ACCEPTED, SideLimits, TransferError, stream};
use std::collections::HashMap;
use std::time::Duration;
use support::{Catalog, rig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_echoes_both_ways() {
    let rig = rig(SideLimits::default(), Catalog::new()).await;
    let meta: HashMap<String, String> = [("user".to_owned(), "alice".to_owned())].into();
    let conn = stream(&rig.client, meta).await.expect("stream");
    let (mut r, mut w) = conn.into_split();

    // Write 4 MiB while reading the echo back concurrently (a raw pipe, no framing).
    let payload: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let to_send = payload.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&to_send).await.unwrap();
        w.shutdown().await.unwrap();
    });
    let mut echoed = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), r.read_to_end(&mut echoed))
        .await
        .expect("echo in time")
        .unwrap();
    writer.await.unwrap();
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed == payload, "the echo differs");
    assert_eq!(rig.streams.stats().streams_opened, 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptor_can_refuse_a_stream() {
    let rig = rig(SideLimits::default(), Catalog::new()).await;
    let meta: HashMap<String, String> = [("user".to_owned(), "mallory".to_owned())].into();
    let err = stream(&rig.client, meta).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransferError::Call {
                method: "Stream",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(NOT_ACCEPTED), "{err}");
    assert_eq!(rig.streams.stats().tokens_issued, 0);
    rig.stop().await;
}
