//! `fastrpc bench` as a process against a real fastrpc server.

mod support;

use support::{fastrpc, json_ok, server};

#[test]
fn bench_by_count_reports_percentiles() {
    let srv = server();
    let v = json_ok(fastrpc().args([
        "bench",
        "-o",
        "json",
        "-c",
        "4",
        "-n",
        "300",
        &srv.addr,
        "Arith.Mul",
        r#"{"A":2,"B":3}"#,
    ]));
    assert_eq!(v["ok"], 300);
    assert_eq!(v["errors"], 0);
    let lat = &v["latency_us"];
    assert!(lat["p50"].as_u64().unwrap() <= lat["p99"].as_u64().unwrap());
    assert!(lat["p99"].as_u64().unwrap() <= lat["p99_9"].as_u64().unwrap());
}

#[test]
fn bench_by_duration_prints_a_summary() {
    let srv = server();
    let out = fastrpc()
        .args([
            "bench",
            "-c",
            "2",
            "-d",
            "1s",
            "-s",
            "msgpack",
            &srv.addr,
            "Arith.Mul",
            r#"{"A":2,"B":3}"#,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("p50") && text.contains("p99.9"), "{text}");
    assert!(text.contains("(0 errors)"), "{text}");
}

#[test]
fn bench_counts_error_replies() {
    let srv = server();
    let out = fastrpc()
        .args([
            "bench",
            "-o",
            "json",
            "-c",
            "2",
            "-n",
            "10",
            &srv.addr,
            "Arith.Fail",
            r#"{"A":2,"B":3}"#,
        ])
        .output()
        .unwrap();
    // Nothing succeeded: a summary, then a failing exit status.
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"], 10);
    assert!(v["first_error"].as_str().unwrap().contains("on purpose"));
}
