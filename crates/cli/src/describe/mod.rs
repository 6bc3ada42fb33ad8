//! `fastrpc describe ADDR [Service]`: the services and methods a server offers, asked of its
//! reflection service (`Reflection.GetServices` / `Reflection.GetService`, the names of Go
//! rpcx's reflection plugin).
//!
//! A fastrpc server answers with JSON text ([`ServiceInfo`]s), printed as a tree of services
//! and methods with argument and reply shapes (read from their JSON Schemas when present), or
//! as `{"services": [...]}` with `--output json`. A Go rpcx server answers with Go source
//! text, printed as it is (`{"go_source": "..."}` with `--output json`).

mod shape;

use crate::args::{DescribeArgs, Output};
use crate::target::CallFailure;
use anyhow::{Context as _, anyhow};
use fastrpc::server::reflection::{GET_SERVICE, GET_SERVICES, REFLECTION_SERVICE, ServiceInfo};
use fastrpc::{CallOptions, Client, ClientError, ClientOptions};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// What a reflection service answered.
enum Answer {
    /// fastrpc's JSON: the services, as sent (kept as values so unknown fields survive
    /// `--output json`).
    Services(Vec<Value>),
    /// Anything else (Go rpcx's generated Go source), shown as it is.
    Source(String),
}

/// Runs `fastrpc describe`.
pub(crate) async fn run(args: DescribeArgs, output: Output) -> Result<(), CallFailure> {
    let answer = fetch(&args).await?;
    match (output, answer) {
        (Output::Json, Answer::Services(s)) => println!("{}", json!({ "services": s })),
        (Output::Json, Answer::Source(src)) => println!("{}", json!({ "go_source": src })),
        (Output::Text, Answer::Services(s)) => print!("{}", render_services(&s)),
        (Output::Text, Answer::Source(src)) => println!("{}", src.trim_end()),
    }
    Ok(())
}

/// Calls the reflection service and sorts out its answer.
async fn fetch(args: &DescribeArgs) -> Result<Answer, CallFailure> {
    let mut copts = ClientOptions::default().default_timeout(Some(args.timeout));
    if let Some(token) = &args.auth {
        copts = copts.auth(token.clone());
    }
    let client = Client::connect_with(&args.addr, copts)
        .await
        .with_context(|| format!("connecting to {}", args.addr))
        .map_err(CallFailure::Other)?;
    // Go's GetServices ignores its string argument; GetService takes the service name.
    let (method, arg) = match &args.service {
        Some(s) => (GET_SERVICE, s.clone()),
        None => (GET_SERVICES, String::new()),
    };
    let opts = CallOptions::default().timeout(args.timeout);
    let text = match client
        .call_with::<String, String>(REFLECTION_SERVICE, method, &arg, opts)
        .await
    {
        Ok(reply) => reply.value,
        Err(ClientError::Remote(e)) if e.message.contains("can't find service") => {
            return Err(CallFailure::Other(anyhow!(
                "{}: the server has no reflection service (fastrpc: \
                 `Server::builder().reflection()`; Go rpcx: the `reflection` plugin)",
                e.message
            )));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(parse(&text, args.service.is_some()))
}

/// fastrpc's JSON (an array for all services, an object for one), or source text.
fn parse(text: &str, one: bool) -> Answer {
    let parsed: Option<Vec<Value>> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) if !one => Some(items),
        Ok(v @ Value::Object(_)) if one => Some(vec![v]),
        _ => None,
    };
    match parsed {
        Some(items) if items.iter().all(is_service_info) => Answer::Services(items),
        _ => Answer::Source(text.to_owned()),
    }
}

fn is_service_info(v: &Value) -> bool {
    serde_json::from_value::<ServiceInfo>(v.clone()).is_ok()
}

/// The text form: each service, its methods, their docs and shapes.
fn render_services(services: &[Value]) -> String {
    let mut out = String::new();
    for v in services {
        let Ok(s) = serde_json::from_value::<ServiceInfo>(v.clone()) else {
            continue;
        };
        match s.pkg_path.as_str() {
            "" => {
                let _ = writeln!(out, "{}", s.name);
            }
            pkg => {
                let _ = writeln!(out, "{}  ({pkg})", s.name);
            }
        }
        for m in &s.methods {
            render_method(&mut out, m);
        }
    }
    out
}

fn render_method(out: &mut String, m: &fastrpc::server::reflection::MethodInfo) {
    if m.req_name.is_empty() && m.reply_name.is_empty() {
        let _ = writeln!(out, "  {}", m.name);
    } else {
        let _ = writeln!(out, "  {}({}) -> {}", m.name, m.req_name, m.reply_name);
    }
    for line in m.doc.lines() {
        let _ = writeln!(out, "      // {line}");
    }
    if let Some(req) = &m.req {
        let _ = writeln!(out, "      args:  {}", shape::shape(req));
    }
    if let Some(reply) = &m.reply {
        let _ = writeln!(out, "      reply: {}", shape::shape(reply));
    }
}

#[cfg(test)]
mod tests {
    use super::{Answer, parse};

    #[test]
    fn go_source_is_kept_as_it_is() {
        let go = "package main\n\ntype Arith struct{}\n";
        assert!(matches!(parse(go, false), Answer::Source(s) if s == go));
        // A JSON string that is not a service description is source text too.
        assert!(matches!(parse("[1, 2]", false), Answer::Source(_)));
    }

    #[test]
    fn fastrpc_json_is_read() {
        let all = r#"[{"Name":"Arith","Methods":[{"Name":"Mul"}]}]"#;
        assert!(matches!(parse(all, false), Answer::Services(s) if s.len() == 1));
        let one = r#"{"Name":"Arith","Methods":[]}"#;
        assert!(matches!(parse(one, true), Answer::Services(s) if s.len() == 1));
    }
}
