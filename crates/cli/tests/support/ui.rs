//! `fastrpc ui` as a process, spoken to over plain HTTP/1.1.

use fastrpc_test_infra::{Process, TempDir, free_port, wait_for_port};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The dashboard on a free port, killed on drop.
pub struct Ui {
    _process: Process,
    _dir: TempDir,
    /// The port it listens on.
    pub port: u16,
}

pub fn start_ui(registry: &str) -> Ui {
    let port = free_port();
    let dir = TempDir::new("fastrpc-ui-http");
    let process = Process::spawn(
        "fastrpc ui",
        &assert_cmd::cargo::cargo_bin("fastrpc"),
        &[
            "ui".into(),
            "--registry".into(),
            registry.into(),
            "--service".into(),
            "Arith".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
        ],
        &dir.path().join("ui.log"),
    );
    wait_for_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("fastrpc ui: {e}\n{}", process.log_tail(20)));
    Ui {
        _process: process,
        _dir: dir,
        port,
    }
}

impl Ui {
    /// One HTTP/1.1 request; returns the status code and the body.
    pub fn request(&self, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
        let (status, _, body) = self.exchange(method, path, headers, body);
        (status, body)
    }

    /// One HTTP/1.1 request; returns the status code, the response head and the body.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: &str,
    ) -> (u16, String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp[9..12].parse().unwrap();
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        (status, head.to_owned(), body.to_owned())
    }
}
