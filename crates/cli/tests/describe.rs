//! `fastrpc describe` as a process against real fastrpc servers: one with the reflection
//! service, a `#[service(schema)]` service and hand-registered handlers; one without
//! reflection; and one answering as Go rpcx's reflection plugin does (Go source text).

mod support;

use fastrpc::schemars::JsonSchema;
use fastrpc::{Context, ServiceError};
use serde::{Deserialize, Serialize};
use support::{fastrpc, json_ok, server_with};

/// A point.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "fastrpc::schemars")]
struct Point {
    x: i32,
    y: i32,
    label: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "fastrpc::schemars")]
struct ScaleArgs {
    point: Point,
    factor: f64,
}

struct Geometry;

#[fastrpc::service(schema)]
impl Geometry {
    /// Scales a point away from the origin.
    async fn scale(&self, args: ScaleArgs) -> Point {
        let f = |v: i32| (f64::from(v) * args.factor) as i32;
        Point {
            x: f(args.point.x),
            y: f(args.point.y),
            label: args.point.label,
        }
    }

    /// Names a point.
    async fn name(&self, p: &Point) -> Result<String, String> {
        Ok(format!("({}, {})", p.x, p.y))
    }
}

/// The support server (`Arith`, `Echo`, `Slow` registered by hand) plus `Geometry`, with
/// the reflection service.
fn reflecting_server() -> support::TestServer {
    server_with(|b| b.service(Geometry).reflection())
}

fn service<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no service {name} in {v}"))
}

fn method<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["Methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Name"] == name)
        .unwrap_or_else(|| panic!("no method {name} in {s}"))
}

#[test]
fn json_lists_every_service_with_types_and_schemas() {
    let srv = reflecting_server();
    let v = json_ok(fastrpc().args(["-o", "json", "describe", &srv.addr]));
    let names: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Arith", "Echo", "Geometry", "Reflection", "Slow"]);

    let geometry = service(&v, "Geometry");
    assert_eq!(geometry["PkgPath"], "describe");
    let scale = method(geometry, "Scale");
    assert_eq!(scale["ReqName"], "ScaleArgs");
    assert_eq!(scale["ReplyName"], "Point");
    assert_eq!(scale["Doc"], "Scales a point away from the origin.");
    assert_eq!(scale["Req"]["title"], "ScaleArgs");
    assert_eq!(
        scale["Req"]["required"],
        serde_json::json!(["point", "factor"])
    );
    assert_eq!(scale["Reply"]["properties"]["x"]["type"], "integer");
    let name = method(geometry, "Name");
    assert_eq!(name["ReqName"], "&Point");
    assert_eq!(name["ReplyName"], "String");
    assert_eq!(name["Reply"]["type"], "string");

    // Registered by hand: method names only.
    let arith = service(&v, "Arith");
    let methods: Vec<&str> = arith["Methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["Fail", "Mul"]);
    assert_eq!(
        method(arith, "Mul"),
        &serde_json::json!({"Name": "Mul"}),
        "a handler registered by hand carries its name only"
    );
}

#[test]
fn text_shows_methods_and_shapes() {
    let srv = reflecting_server();
    let out = fastrpc()
        .args(["describe", &srv.addr, "Geometry"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Geometry  (describe)\n"), "{text}");
    assert!(text.contains("\n  Scale(ScaleArgs) -> Point\n"), "{text}");
    assert!(
        text.contains("// Scales a point away from the origin."),
        "{text}"
    );
    assert!(
        text.contains(
            "args:  { factor: double, point: { label?: string | null, x: int32, y: int32 } }"
        ),
        "{text}"
    );
    assert!(
        text.contains("reply: { label?: string | null, x: int32, y: int32 }"),
        "{text}"
    );
    assert!(text.contains("\n  Name(&Point) -> String\n"), "{text}");
    assert!(
        !text.contains("Arith"),
        "only the service asked for: {text}"
    );
}

#[test]
fn text_lists_hand_registered_methods_by_name() {
    let srv = reflecting_server();
    let out = fastrpc().args(["describe", &srv.addr]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Arith\n  Fail\n  Mul\nEcho\n  Echo\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  GetService(Option<String>) -> String\n"),
        "the reflection service describes itself: {text}"
    );
}

#[test]
fn unknown_service_is_the_servers_error() {
    let srv = reflecting_server();
    let out = fastrpc()
        .args(["describe", &srv.addr, "Nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not found service Nope"), "{err}");
}

#[test]
fn server_without_reflection_says_so() {
    let srv = server_with(|b| b);
    let out = fastrpc().args(["describe", &srv.addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no reflection service"), "{err}");
}

/// What Go rpcx's reflection plugin answers for its example `Arith` service.
const GO_SOURCE: &str = "package example\n\ntype Arith struct{}\n\n\ntype Args struct {\n\tA int64 \n\tB int64 \n}\n\ntype Reply struct {\n\tC int64 \n}\n\ntype (s *Arith) Mul(ctx context.Context, arg *Args, reply *Reply) error {\n\treturn nil\n}\n";

#[test]
fn go_source_answers_are_shown_as_they_are() {
    let srv = server_with(|b| {
        b.handler(
            "Reflection",
            "GetServices",
            |_c: Context, _s: String| async move { Ok::<_, ServiceError>(GO_SOURCE.to_owned()) },
        )
    });
    let out = fastrpc().args(["describe", &srv.addr]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), GO_SOURCE);
    let v = json_ok(fastrpc().args(["describe", "-o", "json", &srv.addr]));
    assert_eq!(v["go_source"], GO_SOURCE);
}
