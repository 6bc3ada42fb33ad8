//! `fastrpc call` as a process against a real fastrpc server.

mod support;

use support::{dead_addr, fastrpc, json_ok, server, server_with};

#[test]
fn json_call_prints_reply_and_metadata() {
    let srv = server();
    let v = json_ok(fastrpc().args([
        "-o",
        "json",
        "call",
        &srv.addr,
        "Arith.Mul",
        r#"{"A":6,"B":7}"#,
    ]));
    assert_eq!(v["reply"], serde_json::json!({"C": 42}));
    let addr = srv.addr.trim_start_matches("tcp@");
    assert_eq!(v["metadata"]["__ServerAddress"], addr);
}

#[test]
fn msgpack_call_converts_both_ways() {
    let srv = server();
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "--serialize",
        "msgpack",
        &srv.addr,
        "Arith.Mul",
        r#"{"A":3,"B":5}"#,
    ]));
    assert_eq!(v["reply"], serde_json::json!({"C": 15}));
}

#[test]
fn raw_call_sends_bytes_and_metadata() {
    let srv = server();
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "-s",
        "raw",
        "--meta",
        "trace=abc-123",
        &srv.addr,
        "Echo.Echo",
        "hello bytes",
    ]));
    assert_eq!(v["reply"], "hello bytes");
    assert_eq!(v["metadata"]["echo"], "abc-123");
}

#[test]
fn protobuf_call_takes_message_bytes_from_a_file() {
    let srv = server();
    let dir = std::env::temp_dir().join(format!("fastrpc-cli-pb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("args.bin");
    // field 1 (varint) = 150, the protobuf documentation's example.
    std::fs::write(&file, [0x08, 0x96, 0x01]).unwrap();
    let arg = format!("@{}", file.display());
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "-s",
        "protobuf",
        &srv.addr,
        "Echo.Echo",
        &arg,
    ]));
    assert_eq!(v["reply"], serde_json::json!({"hex": "089601"}));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn argument_from_stdin_and_gzip() {
    let srv = server();
    let big = "x".repeat(5000);
    let v = json_ok(
        fastrpc()
            .args([
                "call",
                "-o",
                "json",
                "-s",
                "raw",
                "--gzip",
                &srv.addr,
                "Echo.Echo",
                "-",
            ])
            .write_stdin(big.clone()),
    );
    assert_eq!(v["reply"], big);
}

#[test]
fn error_reply_exits_3_with_the_server_text() {
    let srv = server();
    let out = fastrpc()
        .args(["call", &srv.addr, "Arith.Fail", r#"{"A":1,"B":0}"#])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("divide by zero, on purpose"), "{stderr}");
}

#[test]
fn unknown_method_is_the_server_error() {
    let srv = server();
    let out = fastrpc()
        .args(["call", &srv.addr, "Arith.NoSuch", "{}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoSuch"));
}

#[test]
fn timeout_exits_4() {
    let srv = server();
    let out = fastrpc()
        .args([
            "call",
            "--timeout",
            "300ms",
            &srv.addr,
            "Slow.Sleep",
            "20000",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dead_server_exits_1() {
    let out = fastrpc()
        .args(["call", &dead_addr(), "Arith.Mul", "{}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connect"));
}

#[test]
fn bad_json_argument_is_refused_before_connecting() {
    let out = fastrpc()
        .args(["call", &dead_addr(), "Arith.Mul", "{nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
}

#[test]
fn registry_url_calls_through_an_xclient() {
    let a = server();
    let dead = dead_addr();
    let url = format!("static://{},{}", a.addr, dead);
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "--select-mode",
        "round-robin",
        "--fail-mode",
        "failover",
        &url,
        "Arith.Mul",
        r#"{"A":2,"B":2}"#,
    ]));
    assert_eq!(v["reply"], serde_json::json!({"C": 4}));
}

#[test]
fn group_filters_servers() {
    let a = server();
    // The only server is in group "blue": asking for "green" finds none.
    let url = format!("static://{}?group=blue", a.addr);
    let out = fastrpc()
        .args([
            "call",
            "--group",
            "green",
            &url,
            "Arith.Mul",
            r#"{"A":2,"B":2}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "--group",
        "blue",
        &url,
        "Arith.Mul",
        r#"{"A":2,"B":3}"#,
    ]));
    assert_eq!(v["reply"]["C"], 6);
}

#[test]
fn oneway_returns_without_a_reply() {
    let srv = server();
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "--oneway",
        &srv.addr,
        "Slow.Sleep",
        "1",
    ]));
    assert_eq!(v["oneway"], true);
}

#[test]
fn auth_token_is_sent() {
    let srv = server_with(|b| {
        b.auth(|_m, token| {
            if token == "s3cret" {
                Ok(())
            } else {
                Err(format!("bad token {token:?}"))
            }
        })
    });
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "--auth",
        "s3cret",
        &srv.addr,
        "Arith.Mul",
        r#"{"A":1,"B":9}"#,
    ]));
    assert_eq!(v["reply"]["C"], 9);
    let out = fastrpc()
        .args([
            "call",
            "--auth",
            "wrong",
            &srv.addr,
            "Arith.Mul",
            r#"{"A":1,"B":9}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad token"));
}

#[test]
fn completions_are_generated() {
    let out = fastrpc().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("fastrpc"));
}
