//! Feeds arbitrary bytes to a server's connection loop (`Server::serve_connection` over an
//! in-memory pipe), then ends the stream. No task may panic (libfuzzer-sys aborts on a panic
//! in any thread, so one that tokio would catch is still found), and the connection must end
//! once its peer has finished, with nothing left in flight.
#![no_main]

use fastrpc_codec::Raw;
use fastrpc_core::Limits;
use fastrpc_server::{Context, Server, ServerOptions, ServiceError};
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

static SERVER: LazyLock<Server> = LazyLock::new(|| {
    let limits = Limits {
        max_frame_len: 1 << 16,
        max_decompressed_len: 1 << 16,
        ..Limits::default()
    };
    Server::builder()
        .options(ServerOptions::default().limits(limits))
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .handler("Arith", "Mul", |_c: Context, a: (i64, i64)| async move {
            Ok::<_, ServiceError>(a.0.wrapping_mul(a.1))
        })
        .handler("Push", "Me", |c: Context, p: Raw| async move {
            let _ = c
                .connection()
                .push("Push", "Note", Default::default(), p.to_vec().into())
                .await;
            Ok::<_, ServiceError>(Raw::default())
        })
        .auth(|_m, token| match token {
            "" | "good" => Ok(()),
            _ => Err("invalid token".to_owned()),
        })
        .build()
});

fuzz_target!(|data: &[u8]| {
    RT.block_on(async {
        let server = SERVER.clone();
        let (server_io, peer) = tokio::io::duplex(1 << 16);
        let (mut rd, mut wr) = tokio::io::split(peer);
        let write = async {
            // The server may close first (a fatal frame); then writes fail, which is fine.
            let _ = wr.write_all(data).await;
            let _ = wr.shutdown().await;
        };
        let drain = async {
            let mut sink = vec![0u8; 1 << 16];
            while let Ok(n) = rd.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        };
        let serve = server.serve_connection(server_io, "fuzz");
        tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(serve, write, drain)
        })
        .await
        .expect("the connection ends once its peer has");
        assert!(
            server.connections().is_empty(),
            "a closed connection is forgotten"
        );
        assert_eq!(
            server.in_flight(),
            0,
            "nothing in flight after the connection ended"
        );
    });
});
