//! `fastrpc dump` as a process: a proxy between `fastrpc call` and a real server.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{fastrpc, json_ok, server};

/// The proxy process; killed when dropped.
struct Proxy {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proxy(upstream: &str, extra: &[&str]) -> Proxy {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("fastrpc"))
        .args([
            "dump",
            "-o",
            "json",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr = first
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    Proxy { child, addr, lines }
}

fn next_frame(p: &Proxy) -> serde_json::Value {
    let line = p
        .lines
        .recv_timeout(Duration::from_secs(30))
        .expect("a frame line");
    serde_json::from_str(&line).unwrap()
}

#[test]
fn proxy_prints_both_frames_of_a_call_decoded() {
    let srv = server();
    let p = proxy(&srv.addr, &[]);
    let target = format!("tcp@{}", p.addr);
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "-s",
        "msgpack",
        "--meta",
        "trace=t1",
        &target,
        "Arith.Mul",
        r#"{"A":6,"B":7}"#,
    ]));
    assert_eq!(v["reply"]["C"], 42);
    let req = next_frame(&p);
    assert_eq!(req["dir"], "->");
    assert_eq!(req["kind"], "request");
    assert_eq!(req["method"], "Arith.Mul");
    assert_eq!(req["serialize"], 3);
    assert_eq!(req["metadata"]["trace"], "t1");
    assert_eq!(req["payload"], serde_json::json!({"A": 6, "B": 7}));
    let res = next_frame(&p);
    assert_eq!(res["dir"], "<-");
    assert_eq!(res["kind"], "response");
    assert_eq!(res["seq"], req["seq"]);
    assert_eq!(res["method"], "Arith.Mul");
    assert_eq!(res["payload"], serde_json::json!({"C": 42}));
}

#[test]
fn proxy_undoes_gzip_and_filters() {
    let srv = server();
    let p = proxy(&srv.addr, &["--filter", "Echo.Echo"]);
    let target = format!("tcp@{}", p.addr);
    // Filtered out: nothing printed for it.
    json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        &target,
        "Arith.Mul",
        r#"{"A":1,"B":1}"#,
    ]));
    let big = "y".repeat(3000);
    json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "-s",
        "raw",
        "--gzip",
        &target,
        "Echo.Echo",
        &big,
    ]));
    let req = next_frame(&p);
    assert_eq!(req["method"], "Echo.Echo");
    assert_eq!(req["gzip"], true);
    assert_eq!(req["payload"], big.as_str());
    let res = next_frame(&p);
    assert_eq!(res["method"], "Echo.Echo");
    assert_eq!(res["payload"], big.as_str());
}
