//! `fastrpc ui`: a web dashboard for a registry, rpcx-ui's job.
//!
//! Server-rendered HTML (axum), no script and nothing from a CDN: the stylesheet is compiled
//! into the binary. The page lists every service and its servers with their metadata and a
//! live heartbeat; buttons mark a server `state=inactive` / `state=active` and set its
//! `weight`, written back to the registry as rpcx-ui writes them (the stored query parsed, the
//! key set, the query encoded again with sorted keys, put on the same entry), so Go XClients
//! and fastrpc's alike stop or start sending to it; servers that advertise a metrics endpoint
//! show their call rate and latency (`metrics.rs`); a form calls a method with JSON arguments
//! and shows the reply.
//!
//! Routes: `GET /` (the page), `POST /state`, `POST /weight`, `POST /call`,
//! `GET /api/services` (the same data as JSON), `GET /assets/style.css`.

mod call;
mod metrics;
mod page;
mod query;
mod registry;

use crate::args::{Output, UiArgs};
use anyhow::Context as _;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use call::{CallForm, CallOutcome};
use registry::Registry;
use std::sync::Arc;
use std::time::Duration;

/// The stylesheet, served from the binary.
const STYLE: &str = include_str!("style.css");

/// The largest form body accepted (the JSON arguments of a call).
const MAX_FORM_BYTES: usize = 1 << 20;

struct App {
    registry: Registry,
    call_timeout: Duration,
}

/// Runs the dashboard until Ctrl-C. With `-o json` the URL is printed on stdout as
/// `{"url": "http://127.0.0.1:8080/"}`.
pub(crate) async fn run(args: UiArgs, output: Output) -> anyhow::Result<()> {
    let registry = Registry::open(&args.registry, args.services, args.heartbeat_timeout).await?;
    let app = Arc::new(App {
        registry,
        call_timeout: args.call_timeout,
    });
    let router = Router::new()
        .route("/", get(dashboard))
        .route("/state", post(set_state))
        .route("/weight", post(set_weight))
        .route("/call", post(call_method))
        .route("/api/services", get(api_services))
        .route("/assets/style.css", get(style))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let url = format!("http://{}/", listener.local_addr()?);
    match output {
        // For scripts: where to point a browser, on stdout.
        Output::Json => println!("{}", serde_json::json!({ "url": url })),
        Output::Text => eprintln!("fastrpc ui: serving {url}"),
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the dashboard")?;
    app.registry.close().await;
    Ok(())
}

#[derive(Debug, Default, serde::Deserialize)]
struct Notice {
    ok: Option<String>,
    err: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct StateForm {
    service: String,
    server: String,
    state: String,
}

#[derive(Debug, serde::Deserialize)]
struct WeightForm {
    service: String,
    server: String,
    weight: String,
}

async fn render(
    app: &App,
    notice: Option<Result<String, String>>,
    form: &CallForm,
    outcome: Option<&CallOutcome>,
) -> Html<String> {
    let services = app.registry.snapshot().await.map_err(|e| format!("{e:#}"));
    Html(page::render(&page::Page {
        registry: &app.registry.url,
        writable: app.registry.writable(),
        services: services.as_deref().map_err(Clone::clone),
        notice,
        form,
        outcome,
    }))
}

async fn dashboard(State(app): State<Arc<App>>, Query(n): Query<Notice>) -> Html<String> {
    let notice = match (n.ok, n.err) {
        (_, Some(e)) => Some(Err(e)),
        (Some(m), None) => Some(Ok(m)),
        (None, None) => None,
    };
    render(&app, notice, &CallForm::default(), None).await
}

/// Back to the page with the outcome of a write in the query.
fn back(result: anyhow::Result<String>) -> Redirect {
    let (key, text) = match result {
        Ok(m) => ("ok", m),
        Err(e) => ("err", format!("{e:#}")),
    };
    let q = [(key.to_owned(), text)];
    Redirect::to(&format!("/?{}", query::encode(&q)))
}

async fn set_state(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<StateForm>,
) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    let result = async {
        anyhow::ensure!(
            matches!(f.state.as_str(), "active" | "inactive"),
            "state must be active or inactive, not `{}`",
            f.state
        );
        app.registry
            .set_key(&f.service, &f.server, "state", &f.state)
            .await?;
        Ok(format!("{} is now {} in {}", f.server, f.state, f.service))
    }
    .await;
    back(result).into_response()
}

async fn set_weight(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<WeightForm>,
) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    let result = async {
        let weight: u32 =
            f.weight.trim().parse().map_err(|_| {
                anyhow::anyhow!("weight must be a whole number, not `{}`", f.weight)
            })?;
        app.registry
            .set_key(&f.service, &f.server, "weight", &weight.to_string())
            .await?;
        Ok(format!(
            "{} now has weight {weight} in {}",
            f.server, f.service
        ))
    }
    .await;
    back(result).into_response()
}

async fn call_method(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<CallForm>,
) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    let outcome = call::run(&app.registry, &f, app.call_timeout).await;
    render(&app, None, &f, Some(&outcome)).await.into_response()
}

async fn api_services(State(app): State<Arc<App>>) -> Response {
    match app.registry.snapshot().await {
        Ok(services) => Json(serde_json::json!({
            "registry": app.registry.url,
            "writable": app.registry.writable(),
            "services": services.iter().map(registry::ServiceView::to_json).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("{e:#}")).into_response(),
    }
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// Refuses writes a page of another site makes the browser send (CSRF): a cross-site
/// `Sec-Fetch-Site`, or an `Origin` whose host is not the one addressed.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if text(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return false;
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) == Some(host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

fn cross_site() -> Response {
    (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_writes_are_refused() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
