//! `fastrpc dump --pcap` on a capture tcpdump made of a known exchange with a real server.
//! Needs tcpdump (`cargo xtask infra install`) and the right to capture on loopback.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{fastrpc, json_ok, server};

struct Capture(Child);

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts tcpdump on loopback for `port`, writing each packet at once (`-U`).
fn tcpdump(port: u16, file: &std::path::Path) -> Capture {
    let mut child = Command::new("tcpdump")
        .args(["-i", "lo", "-U", "-n", "-w"])
        .arg(file)
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump is not installed: run `cargo xtask infra install`");
    // tcpdump says `listening on lo` once the capture runs.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("listening on") {
        line.clear();
    }
    assert!(
        line.contains("listening on"),
        "tcpdump did not start: {line}"
    );
    Capture(child)
}

#[test]
fn pcap_from_tcpdump_shows_the_exchange() {
    let srv = server();
    let port: u16 = srv.addr.rsplit(':').next().unwrap().parse().unwrap();
    let dir = std::env::temp_dir().join(format!("fastrpc-cli-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("exchange.pcap");
    let _capture = tcpdump(port, &file);
    let v = json_ok(fastrpc().args([
        "call",
        "-o",
        "json",
        "--meta",
        "trace=cap",
        &srv.addr,
        "Arith.Mul",
        r#"{"A":9,"B":9}"#,
    ]));
    assert_eq!(v["reply"]["C"], 81);
    // Wait until both frames are in the file.
    let deadline = Instant::now() + Duration::from_secs(30);
    let frames = loop {
        let out = fastrpc()
            .args(["dump", "-o", "json", "--port", &port.to_string(), "--pcap"])
            .arg(&file)
            .output()
            .unwrap();
        let frames: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if frames.len() >= 2 || Instant::now() > deadline {
            break frames;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0]["dir"], "->");
    assert_eq!(frames[0]["method"], "Arith.Mul");
    assert_eq!(frames[0]["metadata"]["trace"], "cap");
    assert_eq!(frames[0]["payload"], serde_json::json!({"A": 9, "B": 9}));
    assert_eq!(frames[1]["dir"], "<-");
    assert_eq!(frames[1]["kind"], "response");
    assert_eq!(frames[1]["payload"], serde_json::json!({"C": 81}));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn not_a_capture_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("fastrpc-cli-notpcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("junk.pcap");
    std::fs::write(&file, b"definitely not a capture").unwrap();
    let out = fastrpc()
        .args(["dump", "--pcap"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap"));
    let _ = std::fs::remove_dir_all(dir);
}
