//! The gateway and JSON-RPC called with `curl`, as users do (skipped with a message when curl is
//! not installed: `apt-get install curl`).

mod support;

use fastrpc_transport_http::HttpOptions;
use std::net::SocketAddr;
use support::*;

/// Runs curl with `args` against `addr`; returns (status, headers text, body), or `None` when
/// curl is missing.
async fn curl(addr: SocketAddr, path: &str, args: &[&str]) -> Option<(u16, String, String)> {
    let url = format!("http://{addr}{path}");
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args([
        "-sS",
        "-D",
        "-",
        "-o",
        "/dev/stderr",
        "-w",
        "\n%{http_code}",
        "--max-time",
        "60",
    ])
    .args(args)
    .arg(&url);
    let out = match cmd.output().await {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: curl is not installed (apt-get install curl)");
            return None;
        }
        Err(e) => panic!("curl failed to start: {e}"),
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (headers, code) = stdout.rsplit_once('\n').unwrap();
    let body = String::from_utf8(out.stderr).unwrap();
    Some((
        code.trim().parse().unwrap(),
        headers.to_ascii_lowercase(),
        body,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_calls_the_gateway() {
    let r = start(HttpOptions::default()).await;
    // The example of rpcx-protocol.md §2.2, as is.
    let Some((code, headers, body)) = curl(
        r.addr,
        "/Arith",
        &[
            "-X",
            "POST",
            "-H",
            "X-RPCX-SerializeType: 1",
            "-H",
            "X-RPCX-ServiceMethod: Mul",
            "-H",
            "X-RPCX-MessageID: 1",
            "-d",
            r#"{"A":10,"B":20}"#,
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(code, 200);
    assert_eq!(body, r#"{"C":200}"#);
    assert!(headers.contains("x-rpcx-messageid: 1\r\n"), "{headers}");

    let (code, headers, body) = curl(
        r.addr,
        "/Arith",
        &["-H", "X-RPCX-SerializeType: 1", "-d", "{}"],
    )
    .await
    .unwrap();
    assert_eq!((code, body.as_str()), (200, ""));
    assert!(
        headers.contains("x-rpcx-messagestatustype: error"),
        "{headers}"
    );
    assert!(
        headers.contains("x-rpcx-errormessage: empty servicemethod"),
        "{headers}"
    );

    let (code, headers, _) = curl(
        r.addr,
        "/Arith",
        &[
            "-H",
            "X-RPCX-SerializeType: 1",
            "-H",
            "X-RPCX-ServiceMethod: Mul",
            "-H",
            "Authorization: bad",
            "-d",
            r#"{"A":1,"B":1}"#,
        ],
    )
    .await
    .unwrap();
    assert_eq!(code, 401);
    assert!(
        headers.contains("x-rpcx-errormessage: auth: invalid token"),
        "{headers}"
    );

    let (code, headers, _) = curl(
        r.addr,
        "/Arith",
        &[
            "-H",
            "X-RPCX-SerializeType: 1",
            "-H",
            "X-RPCX-ServiceMethod: Fail",
            "-d",
            r#"{"A":1,"B":0}"#,
        ],
    )
    .await
    .unwrap();
    assert_eq!(code, 500);
    assert!(
        headers.contains("x-rpcx-errormessage: division by zero"),
        "{headers}"
    );

    let big_file = std::env::temp_dir().join(format!("fastrpc-http-big-{}", std::process::id()));
    std::fs::write(&big_file, vec![b'x'; 5 << 20]).unwrap();
    let big = format!("@{}", big_file.display());
    let (code, _, _) = curl(
        r.addr,
        "/Echo",
        &[
            "-H",
            "X-RPCX-SerializeType: 0",
            "-H",
            "X-RPCX-ServiceMethod: Echo",
            "--data-binary",
            &big,
        ],
    )
    .await
    .unwrap();
    let _ = std::fs::remove_file(&big_file);
    assert_eq!(code, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_calls_jsonrpc() {
    let r = start(HttpOptions::default()).await;
    let Some((code, headers, body)) = curl(
        r.addr,
        "/",
        &[
            "-H",
            "X-JSONRPC-2.0: true",
            "-d",
            r#"{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":10,"B":20},"id":1}"#,
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(code, 200);
    assert_eq!(body, r#"{"jsonrpc":"2.0","result":{"C":200},"id":1}"#);
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );

    let (code, _, body) = curl(
        r.addr,
        "/",
        &["-H", "X-JSONRPC-2.0: true", "-d", r#"{"method":"x"#],
    )
    .await
    .unwrap();
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32700);
}
