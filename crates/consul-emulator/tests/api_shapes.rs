//! The emulator's answers checked against the shapes Consul's HTTP API documents
//! (developer.hashicorp.com/consul/api-docs: kv, session, agent/service, agent/check,
//! health), over hand-made HTTP/1.1 requests.

use fastrpc_consul_emulator::{ConsulEmulator, EmulatorConfig};
use serde_json::Value;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

fn http(emu: &ConsulEmulator, method: &str, path: &str, body: &str) -> Reply {
    let mut s = std::net::TcpStream::connect(emu.addr()).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    Reply {
        status: head[9..12].parse().unwrap(),
        headers: head.to_owned(),
        body: body.to_owned(),
    }
}

fn emulator() -> ConsulEmulator {
    ConsulEmulator::start(EmulatorConfig {
        session_ttl_min: Duration::from_secs(1),
        ..EmulatorConfig::default()
    })
}

#[test]
fn kv_read_shapes_and_404() {
    let emu = emulator();
    let missing = http(&emu, "GET", "/v1/kv/nothing?recurse", "");
    assert_eq!(missing.status, 404);
    assert!(missing.header("X-Consul-Index").is_some());
    assert_eq!(
        http(&emu, "PUT", "/v1/kv/zip?flags=42", "test").body,
        "true"
    );
    assert_eq!(http(&emu, "PUT", "/v1/kv/zip/empty", "").body, "true");
    let r = http(&emu, "GET", "/v1/kv/zip?recurse", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/json")
    );
    let list = r.json();
    let first = &list[0];
    // The documented fields: CreateIndex, ModifyIndex, LockIndex, Key, Flags, Value (base64).
    for field in [
        "CreateIndex",
        "ModifyIndex",
        "LockIndex",
        "Key",
        "Flags",
        "Value",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }
    assert_eq!(first["Key"], "zip");
    assert_eq!(first["Flags"], 42);
    assert_eq!(first["Value"], "dGVzdA==");
    assert!(first.get("Session").is_none());
    assert_eq!(list[1]["Value"], Value::Null);
    let index: u64 = r.header("X-Consul-Index").unwrap().parse().unwrap();
    assert_eq!(index, list[1]["ModifyIndex"].as_u64().unwrap());
    assert_eq!(http(&emu, "DELETE", "/v1/kv/zip?recurse", "").body, "true");
    assert_eq!(http(&emu, "GET", "/v1/kv/zip", "").status, 404);
}

#[test]
fn blocking_query_waits_for_a_change_or_the_wait() {
    let emu = emulator();
    http(&emu, "PUT", "/v1/kv/svc/a", "1");
    let index = http(&emu, "GET", "/v1/kv/svc?recurse", "")
        .header("X-Consul-Index")
        .unwrap();
    let started = Instant::now();
    let r = http(
        &emu,
        "GET",
        &format!("/v1/kv/svc?recurse&index={index}&wait=300ms"),
        "",
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "returned before the wait"
    );
    assert_eq!(r.header("X-Consul-Index").unwrap(), index);
    let addr = emu.addr();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "PUT /v1/kv/svc/b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n2").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
    });
    let r = http(
        &emu,
        "GET",
        &format!("/v1/kv/svc?recurse&index={index}&wait=20s"),
        "",
    );
    writer.join().unwrap();
    assert!(r.header("X-Consul-Index").unwrap().parse::<u64>().unwrap() > index.parse().unwrap());
    assert_eq!(r.json().as_array().unwrap().len(), 2);
}

#[test]
fn sessions_lock_and_expire_with_their_behavior() {
    let emu = emulator();
    let too_short = http(&emu, "PUT", "/v1/session/create", r#"{"TTL":"100ms"}"#);
    assert_eq!(too_short.status, 500);
    assert!(
        too_short.body.contains("Invalid Session TTL"),
        "{}",
        too_short.body
    );
    let id = http(
        &emu,
        "PUT",
        "/v1/session/create",
        r#"{"Behavior":"delete","LockDelay":"1ms","TTL":"1s"}"#,
    )
    .json()["ID"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = http(&emu, "PUT", "/v1/session/create", r#"{"TTL":"60s"}"#).json()["ID"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        http(&emu, "PUT", &format!("/v1/kv/lock?acquire={id}"), "v").body,
        "true"
    );
    assert_eq!(
        http(&emu, "PUT", &format!("/v1/kv/lock?acquire={other}"), "w").body,
        "false"
    );
    let entry = &http(&emu, "GET", "/v1/kv/lock", "").json()[0];
    assert_eq!(entry["Session"], id.as_str());
    assert_eq!(entry["LockIndex"], 1);
    let renewed = http(&emu, "PUT", &format!("/v1/session/renew/{id}"), "").json();
    assert_eq!(renewed[0]["ID"], id.as_str());
    assert_eq!(renewed[0]["Behavior"], "delete");
    assert_eq!(renewed[0]["TTL"], "1s");
    // Not renewed for 2 x TTL: invalidated, and its key deleted (Behavior delete).
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(http(&emu, "GET", "/v1/kv/lock", "").status, 404);
    assert_eq!(
        http(&emu, "PUT", &format!("/v1/session/renew/{id}"), "").status,
        404
    );
    assert_eq!(
        http(&emu, "GET", &format!("/v1/session/info/{id}"), "").body,
        "[]"
    );
    // A release session frees its keys instead.
    assert_eq!(
        http(&emu, "PUT", &format!("/v1/kv/held?acquire={other}"), "x").body,
        "true"
    );
    assert_eq!(
        http(&emu, "PUT", &format!("/v1/session/destroy/{other}"), "").body,
        "true"
    );
    let entry = &http(&emu, "GET", "/v1/kv/held", "").json()[0];
    assert!(entry.get("Session").is_none());
}

#[test]
fn agent_services_with_ttl_checks() {
    let emu = emulator();
    let def = r#"{"ID":"web-1","Name":"web","Address":"127.0.0.1","Port":80,"Meta":{"k":"v"},
                 "Check":{"CheckID":"service:web-1","TTL":"1s","Status":"passing","DeregisterCriticalServiceAfter":"1s"}}"#;
    assert_eq!(
        http(&emu, "PUT", "/v1/agent/service/register", def).status,
        200
    );
    let r = http(&emu, "GET", "/v1/health/service/web?passing=true", "");
    let list = r.json();
    assert_eq!(list[0]["Service"]["ID"], "web-1");
    assert_eq!(list[0]["Service"]["Port"], 80);
    assert_eq!(list[0]["Service"]["Meta"]["k"], "v");
    assert!(list[0]["Node"]["Node"].is_string());
    assert_eq!(list[0]["Checks"][1]["CheckID"], "service:web-1");
    assert_eq!(list[0]["Checks"][1]["Status"], "passing");
    assert!(r.header("X-Consul-Index").is_some());
    assert_eq!(
        http(&emu, "PUT", "/v1/agent/check/pass/service:web-1", "").status,
        200
    );
    assert_eq!(
        http(&emu, "PUT", "/v1/agent/check/pass/nope", "").status,
        404
    );
    // Not passed within its TTL: critical (hidden by ?passing), then deregistered.
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(
        http(&emu, "GET", "/v1/health/service/web?passing=true", "").body,
        "[]"
    );
    assert_eq!(
        http(&emu, "GET", "/v1/health/service/web", "").json()[0]["Checks"][1]["Status"],
        "critical"
    );
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(http(&emu, "GET", "/v1/health/service/web", "").body, "[]");
    assert_eq!(
        http(&emu, "PUT", "/v1/agent/service/deregister/web-1", "").status,
        404
    );
}
