//! A 100 MiB file moved both ways over real sockets, checksum intact, through bounded buffers.

mod support;

use fastrpc_filetransfer::{SideLimits, download_file, send_file};
use std::collections::HashMap;
use support::{Catalog, CrcSink, Pattern, rig};

const SIZE: u64 = 100 * 1024 * 1024;

async fn crc_of_pattern(seed: u64, len: u64) -> u32 {
    let mut sink = CrcSink::default();
    tokio::io::copy(&mut Pattern::new(seed, len), &mut sink)
        .await
        .unwrap();
    sink.hasher.finalize()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_file_moves_both_ways_streamed_not_buffered() {
    let chunk = SideLimits::DEFAULT_CHUNK_SIZE;
    let catalog: Catalog = [("big.bin".to_owned(), (42, SIZE))].into();
    let rig = rig(SideLimits::default(), catalog).await;

    // Up: a real file on disk, read through send_file.
    let dir = support::scratch("big");
    let path = dir.0.join("upload.bin");
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    tokio::io::copy(&mut Pattern::new(7, SIZE), &mut file)
        .await
        .unwrap();
    drop(file);
    let expected_up = crc_of_pattern(7, SIZE).await;

    let meta: HashMap<String, String> = [("owner".to_owned(), "test".to_owned())].into();
    let sent = send_file(&rig.client, &path, meta.clone())
        .await
        .expect("upload");
    assert_eq!(sent.bytes, SIZE);
    assert!(sent.largest_buffer <= 64 * 1024, "{sent:?}");
    {
        let got = rig.received.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "upload.bin");
        assert_eq!(got[0].meta, meta);
        assert_eq!(got[0].bytes, SIZE);
        assert_eq!(got[0].crc, expected_up, "upload checksum");
    }
    drop(dir);

    // Down: the server streams a generated file; the client hashes it as it arrives.
    let mut sink = CrcSink::default();
    let got = download_file(&rig.client, "big.bin", HashMap::new(), &mut sink)
        .await
        .expect("download");
    assert_eq!(got.bytes, SIZE);
    assert_eq!(sink.bytes, SIZE);
    assert_eq!(
        sink.hasher.finalize(),
        crc_of_pattern(42, SIZE).await,
        "download checksum"
    );

    // The server's own accounting: every byte counted, never more than one chunk held.
    rig.wait_for("the download to be counted", |s| s.downloads_completed == 1)
        .await;
    let stats = rig.files.stats();
    assert_eq!(stats.bytes_received, SIZE);
    assert_eq!(stats.bytes_sent, SIZE);
    assert_eq!(stats.uploads_completed, 1);
    assert_eq!(stats.peak_buffered_bytes, chunk, "{stats:?}");
    assert_eq!(stats.buffered_bytes, 0);
    assert_eq!(stats.tokens_rejected, 0);
    rig.stop().await;
}
