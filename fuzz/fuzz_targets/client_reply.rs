//! Feeds arbitrary bytes to a client as the server's replies while a call is pending
//! (`Client::from_io` over an in-memory pipe), then ends the stream. No task may panic
//! (libfuzzer-sys aborts on a panic in any thread), the pending call must end, and the client
//! must notice the end of the stream.
#![no_main]

use fastrpc_client::{CallOptions, Client, ClientOptions, Raw};
use fastrpc_core::Limits;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
});

fuzz_target!(|data: &[u8]| {
    RT.block_on(async {
        let (client_io, peer) = tokio::io::duplex(1 << 16);
        let limits = Limits {
            max_frame_len: 1 << 16,
            max_decompressed_len: 1 << 16,
            ..Limits::default()
        };
        let client = Client::from_io(client_io, "fuzz", ClientOptions::default().limits(limits));
        let mut pushes = client.take_push_receiver();
        let (mut rd, mut wr) = tokio::io::split(peer);
        let args = Raw::from(&b"fuzz"[..]);
        let call = client.call_with::<_, Raw>(
            "Echo",
            "Echo",
            &args,
            CallOptions::default().meta("k", "v"),
        );
        let serve = async {
            // Wait until the request (seq 0) is on the wire, so the replies find it pending.
            let mut first = [0u8; 1];
            let _ = rd.read_exact(&mut first).await;
            let _ = wr.write_all(data).await;
            let _ = wr.shutdown().await;
            let mut sink = vec![0u8; 1 << 16];
            while let Ok(n) = rd.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        };
        let drain_pushes = async {
            if let Some(rx) = pushes.as_mut() {
                while rx.recv().await.is_some() {}
            }
        };
        let (result, ..) = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(call, serve, drain_pushes)
        })
        .await
        .expect("the call ends once the stream has");
        let _ = result;
        tokio::time::timeout(Duration::from_secs(10), client.closed())
            .await
            .expect("the client notices the end of the stream");
    });
});
