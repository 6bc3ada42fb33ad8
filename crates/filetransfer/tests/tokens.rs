//! Tokens and limits over real sockets: wrong, reused and expired tokens, a silent side
//! connection, the upload size limit and a full token table.

mod support;

use fastrpc_client::{Call, CallOptions};
use fastrpc_filetransfer::{
    FILE_TOO_LARGE, FileTransferArgs, FileTransferReply, SideLimits, TOKEN_TABLE_FULL,
    TransferError, TransferOptions, download_file, send_reader,
};
use std::collections::HashMap;
use std::time::Duration;
use support::{Catalog, Rig, rig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GENEROUS: Duration = Duration::from_secs(30);

async fn ask_upload(rig: &Rig, name: &str, size: i64) -> Result<FileTransferReply, String> {
    let args = FileTransferArgs {
        file_name: name.to_owned(),
        file_size: size,
        meta: HashMap::new(),
    };
    rig.client
        .invoke::<_, FileTransferReply>(
            "_filetransfer",
            "TransferFile",
            &args,
            CallOptions::default(),
        )
        .await
        .map(|r| r.value)
        .map_err(|e| e.to_string())
}

/// Reads until the server closes the connection; true if it did within the time allowed.
async fn closed_by_server(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(GENEROUS, conn.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

async fn side(reply: &FileTransferReply) -> TcpStream {
    TcpStream::connect(reply.addr.as_str())
        .await
        .expect("side listener")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_reused_tokens_are_refused_while_another_transfer_works() {
    let rig = rig(SideLimits::default(), Catalog::new()).await;

    // A transfer in progress: token accepted, half the bytes sent.
    let reply = ask_upload(&rig, "good.bin", 2000).await.unwrap();
    assert_eq!(reply.token.len(), 32);
    let mut good = side(&reply).await;
    good.write_all(&reply.token).await.unwrap();
    good.write_all(&[1u8; 1000]).await.unwrap();

    // Meanwhile, a token nobody issued.
    let mut bad = side(&reply).await;
    bad.write_all(&[0xAB; 32]).await.unwrap();
    assert!(
        closed_by_server(&mut bad).await,
        "a wrong token must be closed"
    );
    rig.wait_for("the wrong token", |s| s.tokens_rejected == 1)
        .await;

    // The transfer under way finishes intact.
    good.write_all(&[2u8; 1000]).await.unwrap();
    good.shutdown().await.unwrap();
    assert!(closed_by_server(&mut good).await);
    rig.wait_for("the upload", |s| s.uploads_completed == 1)
        .await;
    let mut expected = crc32fast::Hasher::new();
    expected.update(&[1u8; 1000]);
    expected.update(&[2u8; 1000]);
    {
        let got = rig.received.lock().unwrap();
        assert_eq!((got[0].bytes, got[0].crc), (2000, expected.finalize()));
    }

    // The same token again: single use.
    let mut again = side(&reply).await;
    again.write_all(&reply.token).await.unwrap();
    assert!(
        closed_by_server(&mut again).await,
        "a reused token must be closed"
    );
    rig.wait_for("the reused token", |s| s.tokens_rejected == 2)
        .await;
    assert_eq!(rig.files.stats().uploads_completed, 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused() {
    let limits = SideLimits::default().token_lifetime(Duration::from_millis(50));
    let rig = rig(limits, Catalog::new()).await;
    let reply = ask_upload(&rig, "late.bin", 10).await.unwrap();
    // Lifetime is the point of this test: wait it out (and then some).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut conn = side(&reply).await;
    conn.write_all(&reply.token).await.unwrap();
    assert!(closed_by_server(&mut conn).await);
    rig.wait_for("the expired token", |s| s.tokens_rejected == 1)
        .await;
    assert_eq!(rig.files.stats().uploads_completed, 0);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_side_connection_times_out() {
    let limits = SideLimits::default().token_timeout(Duration::from_millis(200));
    let rig = rig(limits, Catalog::new()).await;
    let mut conn = TcpStream::connect(rig.files.local_addr()).await.unwrap();
    conn.write_all(&[0u8; 5]).await.unwrap(); // part of a token, then nothing
    assert!(closed_by_server(&mut conn).await);
    rig.wait_for("the timeout", |s| s.timed_out == 1).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_size_limit_get_no_token() {
    let limits = SideLimits::default().max_upload_bytes(1024 * 1024);
    let rig = rig(limits, Catalog::new()).await;

    let err = send_reader(
        &rig.client,
        "huge.bin",
        1024 * 1024 + 1,
        tokio::io::empty(),
        HashMap::new(),
        &TransferOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            TransferError::Call {
                method: "TransferFile",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(FILE_TOO_LARGE), "{err}");

    let err = ask_upload(&rig, "negative.bin", -1).await.unwrap_err();
    assert!(err.contains("invalid file size -1"), "{err}");
    assert_eq!(rig.files.pending_tokens(), 0);
    assert_eq!(rig.files.stats().tokens_issued, 0);

    // At the limit is fine.
    let data = vec![5u8; 1024 * 1024];
    let sent = send_reader(
        &rig.client,
        "max.bin",
        data.len() as u64,
        &data[..],
        HashMap::new(),
        &TransferOptions::default(),
    )
    .await
    .expect("an upload at the limit");
    assert_eq!(sent.bytes, 1024 * 1024);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_token_table_refuses_until_a_token_is_used() {
    let limits = SideLimits::default().max_tokens(2);
    let rig = rig(limits, Catalog::new()).await;
    let first = ask_upload(&rig, "a", 3).await.unwrap();
    ask_upload(&rig, "b", 3).await.unwrap();
    let err = ask_upload(&rig, "c", 3).await.unwrap_err();
    assert!(err.contains(TOKEN_TABLE_FULL), "{err}");
    assert_eq!(rig.files.stats().tokens_refused_full, 1);

    // Using a token frees its slot.
    let mut conn = side(&first).await;
    conn.write_all(&first.token).await.unwrap();
    conn.write_all(b"abc").await.unwrap();
    assert!(closed_by_server(&mut conn).await);
    rig.wait_for("the upload", |s| s.uploads_completed == 1)
        .await;
    ask_upload(&rig, "d", 3)
        .await
        .expect("a slot is free again");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_uploads_and_unknown_downloads_fail_cleanly() {
    let rig = rig(SideLimits::default(), Catalog::new()).await;

    // Announce 1000 bytes, send 10 and close: the handler sees UnexpectedEof, nothing completes.
    let reply = ask_upload(&rig, "short.bin", 1000).await.unwrap();
    let mut conn = side(&reply).await;
    conn.write_all(&reply.token).await.unwrap();
    conn.write_all(&[0u8; 10]).await.unwrap();
    conn.shutdown().await.unwrap();
    assert!(closed_by_server(&mut conn).await);
    rig.wait_for("the short upload", |s| s.bytes_received == 10)
        .await;
    assert_eq!(rig.files.stats().uploads_completed, 0);

    // The client side refuses to send less than it announced.
    let err = send_reader(
        &rig.client,
        "liar.bin",
        100,
        &[0u8; 10][..],
        HashMap::new(),
        &TransferOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            TransferError::ShortSource {
                sent: 10,
                announced: 100
            }
        ),
        "{err}"
    );

    // A download the handler cannot open is the call's error, with the handler's text.
    let mut sink = Vec::new();
    let err = download_file(&rig.client, "missing.bin", HashMap::new(), &mut sink)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no file missing.bin"), "{err}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_times_out() {
    let limits = SideLimits::default().idle_timeout(Duration::from_millis(300));
    let rig = rig(limits, Catalog::new()).await;
    let reply = ask_upload(&rig, "stalled.bin", 100).await.unwrap();
    let mut conn = side(&reply).await;
    conn.write_all(&reply.token).await.unwrap();
    conn.write_all(&[0u8; 10]).await.unwrap(); // then nothing, connection left open
    assert!(closed_by_server(&mut conn).await);
    rig.wait_for("the idle timeout", |s| s.timed_out == 1).await;
    assert_eq!(rig.files.stats().uploads_completed, 0);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn side_connections_past_the_cap_are_closed_at_once() {
    let limits = SideLimits::default().max_connections(1);
    let rig = rig(limits, Catalog::new()).await;
    // One silent connection holds the only slot (the token timeout is 10 s).
    let _holder = TcpStream::connect(rig.files.local_addr()).await.unwrap();
    let mut extra = TcpStream::connect(rig.files.local_addr()).await.unwrap();
    assert!(closed_by_server(&mut extra).await);
    rig.wait_for("the refusal", |s| s.connections_refused == 1)
        .await;
    rig.stop().await;
}
