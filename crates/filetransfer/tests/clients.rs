//! The client functions through an XClient and through a plain client in JSON, not only the
//! default MessagePack: the services answer in whatever serialize type the call used.

mod support;

use fastrpc_client::{CallOptions, SerializeType};
use fastrpc_filetransfer::{
    SideLimits, TransferError, TransferOptions, download_file_with, send_reader, stream_with,
};
use fastrpc_xclient::{FailMode, Peer2PeerDiscovery, SelectMode, XClient, XClientOptions};
use std::collections::HashMap;
use support::{Catalog, CrcSink, Pattern, rig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SIZE: u64 = 1024 * 1024 + 7;

async fn crc_of(seed: u64, len: u64) -> u32 {
    let mut sink = CrcSink::default();
    tokio::io::copy(&mut Pattern::new(seed, len), &mut sink)
        .await
        .unwrap();
    sink.hasher.finalize()
}

fn xclient(service: &str, server: &str) -> XClient {
    XClient::new(
        service,
        FailMode::Failfast,
        SelectMode::Random,
        Peer2PeerDiscovery::new(server, ""),
        XClientOptions::default(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_streams_work_through_an_xclient() {
    let rig = rig(
        SideLimits::default(),
        [("d.bin".to_owned(), (3, SIZE))].into(),
    )
    .await;
    let server = format!("tcp@{}", rig.handle.local_addr());
    let files = xclient("_filetransfer", &server);
    let opts = TransferOptions::default();

    let sent = send_reader(
        &files,
        "x.bin",
        SIZE,
        Pattern::new(9, SIZE),
        HashMap::new(),
        &opts,
    )
    .await
    .expect("upload through the XClient");
    assert_eq!(sent.bytes, SIZE);
    let expected = crc_of(9, SIZE).await;
    assert_eq!(rig.received.lock().unwrap()[0].crc, expected);

    let mut sink = CrcSink::default();
    download_file_with(&files, "d.bin", HashMap::new(), &mut sink, &opts)
        .await
        .expect("download through the XClient");
    assert_eq!(sink.hasher.finalize(), crc_of(3, SIZE).await);

    let streams = xclient("_streamservice", &server);
    let mut conn = stream_with(&streams, HashMap::new(), &opts)
        .await
        .expect("stream");
    conn.write_all(b"ping").await.unwrap();
    conn.shutdown().await.unwrap();
    let mut back = Vec::new();
    conn.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"ping");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_speak_json_too() {
    let catalog: Catalog = [("j.bin".to_owned(), (5, SIZE))].into();
    let rig = rig(SideLimits::default(), catalog).await;
    let opts =
        TransferOptions::default().call(CallOptions::default().serialize_type(SerializeType::JSON));
    let meta: HashMap<String, String> = [("k".to_owned(), "v".to_owned())].into();

    send_reader(
        &rig.client,
        "j-up.bin",
        SIZE,
        Pattern::new(1, SIZE),
        meta.clone(),
        &opts,
    )
    .await
    .expect("upload in JSON");
    let expected = crc_of(1, SIZE).await;
    {
        let got = rig.received.lock().unwrap();
        assert_eq!(got[0].name, "j-up.bin");
        assert_eq!(got[0].meta, meta);
        assert_eq!(got[0].crc, expected);
    }

    let mut sink = CrcSink::default();
    download_file_with(&rig.client, "j.bin", HashMap::new(), &mut sink, &opts)
        .await
        .expect("download in JSON");
    assert_eq!(sink.hasher.finalize(), crc_of(5, SIZE).await);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_past_the_clients_limit_stops() {
    let catalog: Catalog = [
        ("big.bin".to_owned(), (8, SIZE)),
        ("fits.bin".to_owned(), (8, 1000)),
    ]
    .into();
    let rig = rig(SideLimits::default(), catalog).await;
    let opts = TransferOptions::default().max_download_bytes(1000);

    let mut sink = CrcSink::default();
    let got = download_file_with(&rig.client, "fits.bin", HashMap::new(), &mut sink, &opts)
        .await
        .expect("a file at the limit");
    assert_eq!(got.bytes, 1000);

    let mut sink = CrcSink::default();
    let err = download_file_with(&rig.client, "big.bin", HashMap::new(), &mut sink, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransferError::TooLarge { limit: 1000 }),
        "{err}"
    );
    assert!(sink.bytes <= 1001, "{}", sink.bytes);
    rig.stop().await;
}
