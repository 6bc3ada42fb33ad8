//! rpcx file transfer and streams in one process over TCP on 127.0.0.1: uploads this file to
//! the `_filetransfer` service, downloads it back, and echoes a line through `_streamservice`.
//! Needs no external service.
//!
//!     cargo run -p fastrpc --example filetransfer --features filetransfer

use fastrpc::filetransfer::{
    DownloadFileArgs, FileTransfer, FileTransferArgs, StreamService, StreamServiceArgs, Upload,
    download_file, send_file, stream,
};
use fastrpc::{Client, Server};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// This file, uploaded and served for download.
const THIS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/filetransfer.rs"
);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Uploads go to a scratch directory; downloads are served from this example's source.
    let store = std::env::temp_dir().join(format!("fastrpc-filetransfer-{}", std::process::id()));
    tokio::fs::create_dir_all(&store).await?;
    let upload_dir = store.clone();
    let files = FileTransfer::new(
        "127.0.0.1:0", // the side listener; clients learn its address from the token reply
        move |args: FileTransferArgs, mut body: Upload| {
            let dir = upload_dir.clone();
            async move {
                // Only a base name: never let a client pick a path.
                let name = std::path::Path::new(&args.file_name)
                    .file_name()
                    .ok_or_else(|| std::io::Error::other("no file name"))?
                    .to_owned();
                let mut out = tokio::fs::File::create(dir.join(name)).await?;
                let n = tokio::io::copy(&mut body, &mut out).await?;
                println!("server: stored {} ({n} bytes)", args.file_name);
                Ok(())
            }
        },
        |args: DownloadFileArgs| async move {
            if args.file_name != "filetransfer.rs" {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file",
                ));
            }
            tokio::fs::File::open(THIS_FILE).await
        },
    )
    .start()
    .await?;
    let echo = StreamService::new(
        "127.0.0.1:0",
        |_args: StreamServiceArgs, conn: TcpStream| async move {
            let (mut r, mut w) = conn.into_split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        },
    )
    .start()
    .await?;

    let server = Server::builder()
        .service(files.clone())
        .service(echo.clone())
        .build();
    let running = server.serve_tcp("127.0.0.1:0").await?;
    let client = Client::connect(&format!("tcp@{}", running.local_addr())).await?;

    // Upload, then download into memory.
    let meta: HashMap<String, String> = [("owner".to_owned(), "example".to_owned())].into();
    let sent = send_file(&client, THIS_FILE, meta).await?;
    println!("client: uploaded {} bytes", sent.bytes);
    let mut copy = Vec::new();
    let got = download_file(&client, "filetransfer.rs", HashMap::new(), &mut copy).await?;
    println!("client: downloaded {} bytes", got.bytes);
    assert_eq!(copy, tokio::fs::read(THIS_FILE).await?);

    // A raw stream: whatever we write comes back.
    let mut conn = stream(&client, HashMap::new()).await?;
    conn.write_all(b"hello over a raw stream\n").await?;
    conn.shutdown().await?;
    let mut line = String::new();
    conn.read_to_string(&mut line).await?;
    print!("client: stream echoed {line}");

    println!("server side listener: {:?}", files.stats());
    running.shutdown(Duration::from_secs(1)).await;
    tokio::fs::remove_dir_all(&store).await?;
    Ok(())
}
