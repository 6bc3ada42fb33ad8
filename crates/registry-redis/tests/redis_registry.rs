//! The Redis registry against a real `redis-server` (started per test on a free loopback
//! port; skipped with a message when Redis is not installed, failing instead under
//! `FASTRPC_REQUIRE_INFRA=1`), with real fastrpc servers and an XClient.

use fastrpc_discovery::{Discovery, Registrar, RegistryUrl, ServerList};
use fastrpc_registry_redis::{RedisDiscovery, discovery_from_url, registrar_from_url};
use fastrpc_server::{Context, RegistrarPlugin, Server, ServerHandle, ServiceError};
use fastrpc_test_infra::RedisServer;
use fastrpc_xclient::{FailMode, SelectMode, XClient, XClientOptions};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Short timings so that expiry and recovery happen within a test.
const FAST: &str = "interval=300ms&ttl=1500ms&grace=20s&resync=2s";
const WAIT: Duration = Duration::from_secs(30);

/// A server that is not registered by anyone (tests register it by other means).
async fn serve(name: &'static str) -> ServerHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::builder()
        .handler("Who", "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .build()
        .serve_listener(listener)
        .unwrap()
}

fn key_of(h: &ServerHandle) -> String {
    format!("tcp@{}", h.local_addr())
}

async fn registrar(redis: &RedisServer, path: &str) -> Arc<dyn Registrar> {
    let url = RegistryUrl::parse(&redis.url(path)).unwrap();
    Arc::new(registrar_from_url(&url).await.unwrap())
}

async fn discovery(redis: &RedisServer, path: &str) -> RedisDiscovery {
    let url = RegistryUrl::parse(&redis.url(path)).unwrap();
    discovery_from_url(&url, "Who").await.unwrap()
}

async fn wait_list(
    rx: &mut watch::Receiver<ServerList>,
    what: &str,
    f: impl FnMut(&ServerList) -> bool,
) {
    let waited = tokio::time::timeout(WAIT, rx.wait_for(f))
        .await
        .map(|r| r.is_ok());
    assert!(
        matches!(waited, Ok(true)),
        "timed out waiting for: {what}; list = {:?}",
        *rx.borrow()
    );
}

fn keys(list: &ServerList) -> BTreeSet<String> {
    list.iter().map(|e| e.key().to_owned()).collect()
}

fn xclient(d: &RedisDiscovery) -> XClient {
    XClient::new(
        "Who",
        FailMode::Failover,
        SelectMode::RoundRobin,
        Arc::new(d.clone()),
        XClientOptions::default(),
    )
    .unwrap()
}

async fn names_seen(xc: &XClient, calls: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..calls {
        seen.insert(xc.call::<_, String>("Am", &0u32).await.unwrap());
    }
    seen
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_discover_add_and_shut_down_gracefully() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let path = format!("/rpcx_test?{FAST}");
    let d = discovery(&redis, &path).await;
    let mut rx = d.watch();
    let a = serve_registered("a", &redis, &path).await;
    wait_list(&mut rx, "server a", |l| {
        keys(l) == BTreeSet::from([key_of(&a)])
    })
    .await;
    assert_eq!(d.servers()[0].raw_metadata(), "weight=1&group=test");
    let xc = xclient(&d);
    assert_eq!(names_seen(&xc, 5).await, set(&["a"]));

    // A second server appears and gets calls without a client restart.
    let b = serve_registered("b", &redis, &path).await;
    wait_list(&mut rx, "servers a and b", |l| l.len() == 2).await;
    assert_eq!(names_seen(&xc, 20).await, set(&["a", "b"]));

    // Graceful shutdown deletes the entry; the watch sees it go.
    let a_key = key_of(&a);
    a.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        redis.cli(&["EXISTS", &format!("//rpcx_test/Who/{a_key}")]),
        "0"
    );
    wait_list(&mut rx, "a gone", |l| {
        keys(l) == BTreeSet::from([key_of(&b)])
    })
    .await;
    assert_eq!(names_seen(&xc, 10).await, set(&["b"]));
    b.shutdown(Duration::from_secs(5)).await;
    wait_list(&mut rx, "all gone", |l| l.is_empty()).await;
}

async fn serve_registered(name: &'static str, redis: &RedisServer, path: &str) -> ServerHandle {
    // Bind first so that the registered key is the real address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = format!("tcp@{}", listener.local_addr().unwrap());
    Server::builder()
        .plugin(RegistrarPlugin::from_arc(registrar(redis, path).await, key))
        .handler("Who", "Am", move |_ctx: Context, _: u32| async move {
            Ok::<_, ServiceError>(name.to_owned())
        })
        .service_metadata("Who", "weight=1&group=test")
        .build()
        .serve_listener(listener)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_disappears_when_its_entry_expires() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let path = format!("/rpcx_test?{FAST}");
    let d = discovery(&redis, &path).await;
    let mut rx = d.watch();
    let survivor = serve_registered("survivor", &redis, &path).await;
    let victim = serve("victim").await;
    let reg = registrar(&redis, &path).await;
    reg.register(&key_of(&victim), "Who", "weight=1")
        .await
        .unwrap();
    wait_list(&mut rx, "two servers", |l| l.len() == 2).await;
    let xc = xclient(&d);
    assert_eq!(names_seen(&xc, 20).await, set(&["survivor", "victim"]));

    // "Kill": the registrar goes away without unregistering, the server stops.
    drop(reg);
    let victim_key = key_of(&victim);
    victim.shutdown(Duration::from_secs(5)).await;
    let ttl: i64 = redis
        .cli(&["PTTL", &format!("//rpcx_test/Who/{victim_key}")])
        .parse()
        .unwrap();
    assert!(ttl <= 1500, "the entry still has its expiry: {ttl}");
    wait_list(&mut rx, "victim expired", |l| {
        keys(l) == BTreeSet::from([key_of(&survivor)])
    })
    .await;
    // The survivor's entry is kept alive by its refresh, well past one TTL.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(keys(&d.servers()), BTreeSet::from([key_of(&survivor)]));
    assert_eq!(names_seen(&xc, 10).await, set(&["survivor"]));
    survivor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_while_calls_go_on_fails_no_call() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let path = format!("/rpcx_test?{FAST}");
    let d = discovery(&redis, &path).await;
    let mut rx = d.watch();
    let a = serve_registered("a", &redis, &path).await;
    let b = serve_registered("b", &redis, &path).await;
    wait_list(&mut rx, "a and b", |l| l.len() == 2).await;
    let xc = Arc::new(xclient(&d));

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let caller = {
        let (xc, stop, ok, failed) = (xc.clone(), stop.clone(), ok.clone(), failed.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match xc.call::<_, String>("Am", &0u32).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("call failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // A polite stop, then a hard kill: each time Redis comes back empty.
    for hard in [false, true] {
        if hard {
            redis.kill();
        } else {
            redis.stop();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        redis.restart();
        // The registrars write their entries again; the discovery sees both.
        let deadline = tokio::time::Instant::now() + WAIT;
        while redis.cli(&["KEYS", "//rpcx_test/Who/*"]).lines().count() < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "entries not re-registered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(d.servers().len(), 2, "the list was kept through the outage");
    }
    // The watch is live again: a new server is seen.
    let c = serve_registered("c", &redis, &path).await;
    wait_list(&mut rx, "a, b and c", |l| l.len() == 3).await;

    stop.store(true, Ordering::Relaxed);
    caller.await.unwrap();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no call may fail");
    assert!(ok.load(Ordering::Relaxed) > 0);
    for s in [a, b, c] {
        s.shutdown(Duration::from_secs(5)).await;
    }
}

/// Byte-for-byte comparison with what Go's `RedisRegisterPlugin` writes (§5.4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_matches_go_byte_for_byte() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    for (path, prefix) in [
        ("/rpcx_test", "//rpcx_test"),
        ("?base=rpcx_test", "/rpcx_test"),
    ] {
        let sep = if path.contains('?') { "&" } else { "?" };
        let reg = registrar(&redis, &format!("{path}{sep}interval=10s")).await;
        reg.register("tcp@127.0.0.1:8972", "Arith", "weight=10&group=g1")
            .await
            .unwrap();
        let go_key = &prefix[1..]; // the key as Go passes it, before normalisation
        let expect = [
            (
                prefix.to_owned(),
                format!(r#"{{"Key":"{go_key}","Value":"cnBjeF9wYXRo","LastIndex":"#),
            ),
            (
                format!("{prefix}/Arith"),
                format!(r#"{{"Key":"{go_key}/Arith","Value":"QXJpdGg=","LastIndex":"#),
            ),
            (
                format!("{prefix}/Arith/tcp@127.0.0.1:8972"),
                format!(
                    r#"{{"Key":"{go_key}/Arith/tcp@127.0.0.1:8972","Value":"d2VpZ2h0PTEwJmdyb3VwPWcx","LastIndex":"#
                ),
            ),
        ];
        for (key, head) in &expect {
            let raw = redis.cli(&["GET", key]);
            let tail = raw
                .strip_prefix(head.as_str())
                .unwrap_or_else(|| panic!("{key}: {raw} does not start with {head}"));
            let index = tail.strip_suffix('}').expect("ends with }");
            assert!(
                index.parse::<u32>().is_ok_and(|n| n < 1_000_000_000),
                "LastIndex is the nanosecond of the second: {raw}"
            );
        }
        // Directories never expire; the entry expires after 2 x interval.
        assert_eq!(redis.cli(&["TTL", prefix]), "-1");
        assert_eq!(redis.cli(&["TTL", &format!("{prefix}/Arith")]), "-1");
        let ttl: i64 = redis
            .cli(&["TTL", &format!("{prefix}/Arith/tcp@127.0.0.1:8972")])
            .parse()
            .unwrap();
        assert!((15..=20).contains(&ttl), "ttl {ttl}");
        reg.close().await.unwrap();
        assert_eq!(
            redis.cli(&["EXISTS", &format!("{prefix}/Arith/tcp@127.0.0.1:8972")]),
            "0"
        );
    }
    // Keyspace notifications were not touched by the registrar.
    let _ = redis.cli(&["CONFIG", "GET", "notify-keyspace-events"]);
}

/// Entries written by hand with `redis-cli`, exactly as Go writes them, are discovered and
/// the server they name is called; removing one by hand is seen through the watch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_written_by_hand_in_go_layout_are_discovered() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = serve("go-layout").await;
    let key = key_of(&server);
    let set_kv = |redis_key: &str, json: &str, ttl: Option<&str>| {
        let mut args = vec!["SET", redis_key, json];
        if let Some(t) = ttl {
            args.extend(["EX", t]);
        }
        assert_eq!(redis.cli(&args), "OK");
    };
    set_kv(
        "//rpcx_test",
        r#"{"Key":"/rpcx_test","Value":"cnBjeF9wYXRo","LastIndex":1}"#,
        None,
    );
    set_kv(
        "//rpcx_test/Who",
        r#"{"Key":"/rpcx_test/Who","Value":"V2hv","LastIndex":2}"#,
        None,
    );
    // base64("weight=7&group=go") = d2VpZ2h0PTcmZ3JvdXA9Z28=
    set_kv(
        &format!("//rpcx_test/Who/{key}"),
        &format!(
            r#"{{"Key":"/rpcx_test/Who/{key}","Value":"d2VpZ2h0PTcmZ3JvdXA9Z28=","LastIndex":123456789}}"#
        ),
        Some("60"),
    );
    // A sibling service whose name starts with ours and garbage are ignored.
    set_kv(
        "//rpcx_test/WhoElse/tcp@127.0.0.1:1",
        r#"{"Key":"/rpcx_test/WhoElse/tcp@127.0.0.1:1","Value":"","LastIndex":3}"#,
        None,
    );
    set_kv("//rpcx_test/Who/garbage", "not json", None);

    let d = discovery(&redis, "/rpcx_test?resync=60s").await;
    let list = d.servers();
    assert_eq!(keys(&list), BTreeSet::from([key.clone()]));
    assert_eq!(list[0].raw_metadata(), "weight=7&group=go");
    assert_eq!(list[0].weight(), 7);
    let xc = xclient(&d);
    assert_eq!(names_seen(&xc, 3).await, set(&["go-layout"]));

    // The keyspace-notification watch sees a hand-made deletion (resync is 60 s).
    let mut rx = d.watch();
    assert_eq!(redis.cli(&["DEL", &format!("//rpcx_test/Who/{key}")]), "1");
    wait_list(&mut rx, "entry deleted by hand", |l| l.is_empty()).await;
    assert_eq!(
        redis
            .cli(&["CONFIG", "GET", "notify-keyspace-events"])
            .lines()
            .nth(1),
        Some("AKE")
    );
    server.shutdown(Duration::from_secs(5)).await;
}

/// The password and database index come from the URL (rpcx's `Password` and `Bucket`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_and_database_from_the_url() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    assert_eq!(redis.cli(&["CONFIG", "SET", "requirepass", "s3cret"]), "OK");
    let path = "/rpcx_test?db=3&interval=10s";
    let url =
        RegistryUrl::parse(&format!("redis://:s3cret@127.0.0.1:{}{path}", redis.port())).unwrap();
    let reg = registrar_from_url(&url).await.unwrap();
    reg.register("tcp@127.0.0.1:9", "Who", "weight=1")
        .await
        .unwrap();
    let d = discovery_from_url(&url, "Who").await.unwrap();
    assert_eq!(
        keys(&d.servers()),
        BTreeSet::from(["tcp@127.0.0.1:9".to_owned()])
    );
    let in_db3 = redis.cli(&[
        "-a",
        "s3cret",
        "--no-auth-warning",
        "-n",
        "3",
        "EXISTS",
        "//rpcx_test/Who/tcp@127.0.0.1:9",
    ]);
    assert_eq!(in_db3, "1");
    let in_db0 = redis.cli(&[
        "-a",
        "s3cret",
        "--no-auth-warning",
        "-n",
        "0",
        "EXISTS",
        "//rpcx_test/Who/tcp@127.0.0.1:9",
    ]);
    assert_eq!(in_db0, "0");
    // A wrong password is a clear error, not a hang.
    let bad =
        RegistryUrl::parse(&format!("redis://:wrong@127.0.0.1:{}{path}", redis.port())).unwrap();
    let err = discovery_from_url(&bad, "Who").await.unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("pass") || err.to_string().contains("auth"),
        "{err}"
    );
    reg.close().await.unwrap();
}

/// `clone_for_service` (OneClient) lists another service from the same template; a
/// discovery made while Redis is down fails with a clear `Unavailable` error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_for_service_and_unreachable_redis() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let path = format!("/rpcx_test?{FAST}");
    let reg = registrar(&redis, &path).await;
    reg.register("tcp@127.0.0.1:7", "Echo", "weight=3")
        .await
        .unwrap();
    let template = discovery(&redis, &path).await;
    let echo = template.clone_for_service("Echo");
    let mut rx = echo.watch();
    wait_list(&mut rx, "Echo via clone_for_service", |l| {
        keys(l) == BTreeSet::from(["tcp@127.0.0.1:7".to_owned()])
    })
    .await;
    assert!(
        template.servers().is_empty(),
        "the template lists Who, not Echo"
    );
    reg.close().await.unwrap();
    wait_list(&mut rx, "Echo closed", |l| l.is_empty()).await;

    redis.kill();
    let url = RegistryUrl::parse(&redis.url("/rpcx_test?timeout=1s")).unwrap();
    let err = discovery_from_url(&url, "Who").await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

/// rpcx-ui's write (`update_metadata`) from another registrar: the entry changes in place,
/// keeps its expiry, is seen by the discovery (and the XClient drops the inactive server),
/// and survives the owner's refreshes; a missing entry is `NotFound`; `services` lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_rewritten_by_another_registrar_survives_refresh() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let path = format!("/rpcx_test?{FAST}");
    let a = serve_registered("a", &redis, &path).await;
    let b = serve_registered("b", &redis, &path).await;
    let (ka, kb) = (key_of(&a), key_of(&b));
    let d = discovery(&redis, &path).await;
    let mut rx = d.watch();
    wait_list(&mut rx, "both registered", |l| l.len() == 2).await;
    let xc = xclient(&d);
    assert_eq!(names_seen(&xc, 10).await, set(&["a", "b"]));

    let ui = registrar(&redis, &path).await;
    ui.update_metadata(&ka, "Who", "group=test&state=inactive&weight=1")
        .await
        .unwrap();
    let inactive = |l: &ServerList| {
        l.iter()
            .any(|e| e.key() == ka && e.raw_metadata() == "group=test&state=inactive&weight=1")
    };
    wait_list(&mut rx, "a marked inactive", inactive).await;
    // Several owner refreshes (300 ms) later the value is still the rewritten one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(inactive(&d.servers()), "{:?}", d.servers());
    assert_eq!(names_seen(&xc, 10).await, set(&["b"]));
    let leaf = format!("//rpcx_test/Who/{ka}");
    let pttl: i64 = redis.cli(&["PTTL", &leaf]).parse().unwrap();
    assert!(pttl > 0, "the entry lost its expiry: PTTL {pttl}");
    let raw = redis.cli(&["GET", &leaf]);
    assert!(
        raw.starts_with(&format!(r#"{{"Key":"/rpcx_test/Who/{ka}","Value":""#)),
        "{raw}"
    );

    let missing = ui
        .update_metadata("tcp@127.0.0.1:1", "Who", "weight=1")
        .await;
    assert!(
        matches!(missing, Err(fastrpc_discovery::RegistryError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(
        redis.cli(&["EXISTS", "//rpcx_test/Who/tcp@127.0.0.1:1"]),
        "0"
    );
    assert_eq!(ui.services().await.unwrap(), ["Who"]);

    // A weight is rewritten the same way.
    ui.update_metadata(&kb, "Who", "group=test&weight=9")
        .await
        .unwrap();
    wait_list(&mut rx, "b re-weighted", |l| {
        l.iter().any(|e| e.key() == kb && e.weight() == 9)
    })
    .await;
    xc.close();
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
    wait_list(&mut rx, "all gone", |l| l.is_empty()).await;
}
