//! What `#[service]` tells the reflection service, read back over a real connection:
//! type names as written and doc comments always, JSON Schemas with `#[service(schema)]`.

use fastrpc::schemars::JsonSchema;
use fastrpc::server::reflection::ServiceInfo;
use fastrpc::{Client, Context, Server};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "fastrpc::schemars")]
struct Args {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "fastrpc::schemars")]
struct Reply {
    #[serde(rename = "C")]
    c: i64,
}

struct Arith;

#[fastrpc::service(schema)]
impl Arith {
    /// Multiplies.
    ///
    /// A times B.
    async fn mul(&self, args: Args) -> Reply {
        Reply { c: args.a * args.b }
    }
    async fn version(&self, _ctx: &Context) -> &'static str {
        "1"
    }
    async fn sum(&self, xs: &[i64]) -> Result<i64, String> {
        Ok(xs.iter().sum())
    }
}

/// Without `schema`: no `JsonSchema` needed.
#[derive(Serialize, Deserialize)]
struct Plain(u8);

struct Echo;

#[fastrpc::service(name = "Echoes")]
impl Echo {
    async fn echo(&self, p: Plain) -> Plain {
        p
    }
}

async fn get_service(client: &Client, name: &str) -> ServiceInfo {
    let text: String = client
        .call("Reflection", "GetService", &name.to_owned())
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_describe_their_methods() {
    let running = Server::builder()
        .service(Arith)
        .service(Echo)
        .reflection()
        .build()
        .serve_tcp("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&format!("tcp@{}", running.local_addr()))
        .await
        .unwrap();

    let arith = get_service(&client, "Arith").await;
    assert_eq!(arith.pkg_path, "reflection");
    let names: Vec<&str> = arith.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Mul", "Sum", "Version"]);
    let mul = arith.method("Mul").unwrap();
    assert_eq!(
        (mul.req_name.as_str(), mul.reply_name.as_str()),
        ("Args", "Reply")
    );
    assert_eq!(mul.doc, "Multiplies.\n\nA times B.");
    let req = mul.req.as_ref().unwrap();
    assert_eq!(req["properties"]["A"]["type"], "integer");
    assert_eq!(req["required"], serde_json::json!(["A", "B"]));
    assert_eq!(mul.reply.as_ref().unwrap()["title"], "Reply");
    let sum = arith.method("Sum").unwrap();
    assert_eq!(
        (sum.req_name.as_str(), sum.reply_name.as_str()),
        ("&[i64]", "i64")
    );
    assert_eq!(sum.req.as_ref().unwrap()["type"], "array");
    let version = arith.method("Version").unwrap();
    assert_eq!(
        (version.req_name.as_str(), version.reply_name.as_str()),
        ("()", "&str")
    );
    assert_eq!(version.req.as_ref().unwrap()["type"], "null");

    // Registered under another name; no schemas without `schema`.
    let echoes = get_service(&client, "Echoes").await;
    let echo = echoes.method("Echo").unwrap();
    assert_eq!(
        (echo.req_name.as_str(), echo.reply_name.as_str()),
        ("Plain", "Plain")
    );
    assert!(echo.req.is_none() && echo.reply.is_none());

    let all: String = client
        .call("Reflection", "GetServices", &String::new())
        .await
        .unwrap();
    let all: Vec<ServiceInfo> = serde_json::from_str(&all).unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Arith", "Echoes", "Reflection"]);

    let err = client
        .call::<String, String>("Reflection", "GetService", &"Nope".to_owned())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not found service Nope"), "{err}");
    running.shutdown(Duration::from_secs(1)).await;
}
