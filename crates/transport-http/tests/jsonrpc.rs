//! JSON-RPC 2.0 (§2.3) through a real port and a real HTTP client: answers, every error code,
//! notifications, batches, metadata and auth.

mod support;

use fastrpc_transport_http::HttpOptions;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use support::*;

async fn rpc(addr: SocketAddr, extra: &[(&str, &str)], body: &str) -> Answer {
    let headers = [&[("X-JSONRPC-2.0", "true")][..], extra].concat();
    let a = send(addr, "POST", "/any/path", &headers, body.to_owned()).await;
    assert_eq!(a.status, 200, "JSON-RPC always answers 200");
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_with_number_and_string_ids() {
    let r = start(HttpOptions::default()).await;
    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":10,"B":20},"id":1}"#,
    )
    .await;
    assert_eq!(
        &a.body[..],
        br#"{"jsonrpc":"2.0","result":{"C":200},"id":1}"#
    );
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("context-type"), None, "the rpcx typo is not kept");
    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":3},"id":"abc"}"#,
    )
    .await;
    assert_eq!(
        a.json(),
        json!({"jsonrpc":"2.0","result":{"C":6},"id":"abc"})
    );
    // Header name in another case; `"id": null` is a call answered with id null.
    let a = send(
        r.addr,
        "POST",
        "/",
        &[("x-jsonrpc-2.0", "true")],
        r#"{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":1,"B":1},"id":null}"#,
    )
    .await;
    assert_eq!(
        a.json(),
        json!({"jsonrpc":"2.0","result":{"C":1},"id":null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_code() {
    let r = start(HttpOptions::default()).await;
    let err = |a: &Answer| (a.json()["error"]["code"].as_i64().unwrap(), a.json());

    let a = rpc(r.addr, &[], r#"{"jsonrpc":"2.0","method":"#).await;
    let (code, v) = err(&a);
    assert_eq!(code, -32700);
    assert_eq!(v["id"], Value::Null);
    assert_eq!(v["error"]["data"], Value::Null);

    let a = rpc(r.addr, &[], r#"{"jsonrpc":"2.0","method":42,"id":1}"#).await;
    assert_eq!(err(&a).0, -32600);
    let a = rpc(r.addr, &[], "17").await;
    assert_eq!(err(&a).0, -32600);

    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"NoDot","params":{},"id":2}"#,
    )
    .await;
    let (code, v) = err(&a);
    assert_eq!(code, -32601);
    assert_eq!(v["id"], 2);
    assert_eq!(
        v["error"]["message"],
        "must contains servicepath and method"
    );

    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"Arith.Fail","params":{"A":1,"B":0},"id":3}"#,
    )
    .await;
    let (code, v) = err(&a);
    assert_eq!(code, -32603);
    assert_eq!(v["error"]["message"], "division by zero");

    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"Nope.Mul","params":{},"id":4}"#,
    )
    .await;
    assert_eq!(
        err(&a).1["error"]["message"],
        "rpcx: can't find service Nope"
    );

    let a = rpc(
        r.addr,
        &[("Authorization", "bad")],
        r#"{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":1,"B":1},"id":5}"#,
    )
    .await;
    let (code, v) = err(&a);
    assert_eq!(code, -32603);
    assert_eq!(v["error"]["message"], "auth: invalid token");
    // The refusal harmed nothing.
    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":4,"B":4},"id":6}"#,
    )
    .await;
    assert_eq!(a.json()["result"]["C"], 16);
}

/// rpcx panics on a missing `params`; here it is JSON null.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_params_is_null() {
    let r = start(HttpOptions::default()).await;
    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"Null.Args","id":1}"#,
    )
    .await;
    assert_eq!(
        a.json(),
        json!({"jsonrpc":"2.0","result":{"got":null},"id":1})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_runs_and_answers_nothing() {
    let r = start(HttpOptions::default()).await;
    let a = rpc(
        r.addr,
        &[],
        r#"{"jsonrpc":"2.0","method":"Count.Hit","params":1}"#,
    )
    .await;
    assert!(a.body.is_empty());
    let hits = r.hits.clone();
    eventually("notification ran", || hits.load(Ordering::SeqCst) == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_authorization_reach_the_service() {
    let r = start(HttpOptions::default()).await;
    let a = rpc(
        r.addr,
        &[("X-RPCX-Meta", "k=v1&k=v2"), ("Authorization", "tok")],
        r#"[{"jsonrpc":"2.0","method":"Meta.Get","params":"k","id":1},
            {"jsonrpc":"2.0","method":"Meta.Get","params":"__AUTH","id":2}]"#,
    )
    .await;
    assert_eq!(
        a.json(),
        json!([
            {"jsonrpc":"2.0","result":"v1","id":1},
            {"jsonrpc":"2.0","result":"tok","id":2}
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches() {
    let r = start(HttpOptions::default()).await;
    let a = rpc(
        r.addr,
        &[],
        r#"[
            {"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":5},"id":"a"},
            {"jsonrpc":"2.0","method":"Count.Hit","params":0},
            {"jsonrpc":"2.0","method":"NoDot","id":"b"},
            5,
            {"jsonrpc":"2.0","method":"Arith.Fail","params":{},"id":"c"}
        ]"#,
    )
    .await;
    let v = a.json();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 4, "the notification is left out: {v}");
    assert_eq!(
        items[0],
        json!({"jsonrpc":"2.0","result":{"C":10},"id":"a"})
    );
    assert_eq!(items[1]["error"]["code"], -32601);
    assert_eq!(items[2]["error"]["code"], -32600);
    assert_eq!(items[3]["error"]["code"], -32603);
    let hits = r.hits.clone();
    eventually("notification in a batch ran", || {
        hits.load(Ordering::SeqCst) == 1
    })
    .await;

    let a = rpc(r.addr, &[], "[]").await;
    assert_eq!(a.json()["error"]["code"], -32600);
    let a = rpc(
        r.addr,
        &[],
        r#"[{"jsonrpc":"2.0","method":"Count.Hit","params":0}]"#,
    )
    .await;
    assert!(
        a.body.is_empty(),
        "a batch of notifications answers nothing"
    );
    let a = rpc(r.addr, &[], "[1,").await;
    assert_eq!(a.json()["error"]["code"], -32700);

    // A large batch: 1,000 calls, answered in order.
    let calls: Vec<Value> = (0..1000)
        .map(|i| json!({"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":i,"B":2},"id":i}))
        .collect();
    let a = rpc(r.addr, &[], &Value::from(calls).to_string()).await;
    let v = a.json();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 1000);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["id"], i);
        assert_eq!(item["result"]["C"], i * 2);
    }
}
