//! `fastrpc list` as a process against real fastrpc servers.

mod support;

use support::{dead_addr, fastrpc, json_ok, server};

#[test]
fn static_url_lists_servers_metadata_and_health() {
    let a = server();
    let dead = dead_addr();
    let url = format!("static://{},{}?weight=7&group=g1&zone=eu", a.addr, dead);
    let v = json_ok(fastrpc().args([
        "list",
        "-o",
        "json",
        "--heartbeat-timeout",
        "5s",
        &url,
        "Arith",
    ]));
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    let live = servers
        .iter()
        .find(|s| s["server"] == a.addr.as_str())
        .unwrap();
    assert_eq!(live["alive"], true);
    assert_eq!(live["weight"], 7);
    assert_eq!(live["group"], "g1");
    assert_eq!(live["state"], "active");
    assert_eq!(live["metadata"]["zone"], "eu");
    let down = servers
        .iter()
        .find(|s| s["server"] == dead.as_str())
        .unwrap();
    assert_eq!(down["alive"], false);
    assert!(down["error"].as_str().unwrap().contains("connect"));
}

#[test]
fn text_output_marks_inactive_and_down() {
    let a = server();
    let url = format!("static://{}?state=inactive", a.addr);
    let out = fastrpc().args(["list", &url]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("state=inactive") && text.contains("alive"),
        "{text}"
    );
}

/// Without a service, a registry that can list its services shows every one with its
/// servers: registers two services of one server at `url` and lists them.
fn lists_every_service_of(url: &str) {
    let a = server();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let registrar = rt.block_on(async {
        let r = fastrpc::registry::from_url(url).await.unwrap();
        r.register(&a.addr, "Arith", "weight=3").await.unwrap();
        r.register(&a.addr, "Echo", "").await.unwrap();
        r
    });
    let v = json_ok(fastrpc().args(["list", "-o", "json", url]));
    let services = v["services"].as_array().expect("a list of services");
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Arith", "Echo"], "{v}");
    let arith = &services[0]["servers"][0];
    assert_eq!(arith["server"], a.addr.as_str());
    assert_eq!(arith["weight"], 3);
    assert_eq!(arith["alive"], true);
    // Text output: one block per service.
    let out = fastrpc().args(["list", url]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("service Arith") && text.contains("service Echo"),
        "{text}"
    );
    rt.block_on(async { registrar.close().await.unwrap() });
}

#[test]
fn redis_without_a_service_lists_every_service() {
    let Some(redis) = fastrpc_test_infra::RedisServer::start() else {
        return;
    };
    lists_every_service_of(&redis.url("/rpcx_list"));
}

#[test]
fn etcd_without_a_service_lists_every_service() {
    let Some(etcd) = fastrpc_test_infra::Etcd::start(1) else {
        return;
    };
    lists_every_service_of(&etcd.url("/rpcx_list", ""));
}

#[test]
fn zookeeper_without_a_service_lists_every_service() {
    let Some(zk) = fastrpc_test_infra::ZooKeeper::start(1) else {
        return;
    };
    lists_every_service_of(&zk.url("/rpcx_list", ""));
}
