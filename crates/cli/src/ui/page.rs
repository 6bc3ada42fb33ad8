//! The dashboard's HTML, rendered on the server (no script, no CDN: forms post back).

use super::call::{CallForm, CallOutcome};
use super::registry::{ServerView, ServiceView};
use std::fmt::Write as _;

/// Everything one page shows.
pub(crate) struct Page<'a> {
    /// The registry URL.
    pub(crate) registry: &'a str,
    /// False for read-only registries (no state/weight buttons).
    pub(crate) writable: bool,
    /// The services, or why they could not be read.
    pub(crate) services: Result<&'a [ServiceView], String>,
    /// A message from the last action (`Ok` for success).
    pub(crate) notice: Option<Result<String, String>>,
    /// The call form's last values.
    pub(crate) form: &'a CallForm,
    /// The last call's outcome.
    pub(crate) outcome: Option<&'a CallOutcome>,
}

/// Escapes text for HTML content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page.
pub(crate) fn render(p: &Page<'_>) -> String {
    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fastrpc ui</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><header><h1>fastrpc <span>ui</span></h1><div class="registry">registry <code>{}</code>{}</div>
<a class="refresh" href="/">Refresh</a></header><main>"#,
        esc(p.registry),
        if p.writable {
            ""
        } else {
            " <em>(read-only)</em>"
        }
    );
    match &p.notice {
        Some(Ok(m)) => {
            let _ = write!(h, r#"<p class="notice ok" id="notice">{}</p>"#, esc(m));
        }
        Some(Err(m)) => {
            let _ = write!(h, r#"<p class="notice err" id="notice">{}</p>"#, esc(m));
        }
        None => {}
    }
    let servers: Vec<&str> = match &p.services {
        Ok(services) => {
            if services.is_empty() {
                h.push_str(r#"<p class="empty">No services registered.</p>"#);
            }
            for s in *services {
                service_card(&mut h, s, p.writable);
            }
            services
                .iter()
                .flat_map(|s| s.servers.iter().map(|v| v.key.as_str()))
                .collect()
        }
        Err(e) => {
            let _ = write!(
                h,
                r#"<p class="notice err">Cannot read the registry: {}</p>"#,
                esc(e)
            );
            Vec::new()
        }
    };
    call_card(&mut h, p.form, p.outcome, &servers);
    h.push_str("</main></body></html>\n");
    h
}

fn service_card(h: &mut String, s: &ServiceView, writable: bool) {
    let title = if s.name.is_empty() {
        "servers"
    } else {
        &s.name
    };
    let up = s
        .servers
        .iter()
        .filter(|v| v.active && v.health.is_ok())
        .count();
    let _ = write!(
        h,
        r#"<section class="card" data-service="{n}"><h2>{t}<small>{up} of {all} active and answering</small></h2>
<table><thead><tr><th>server</th><th>state</th><th>health</th><th>load</th><th>latency</th><th>weight</th><th>group</th><th>metadata</th></tr></thead><tbody>"#,
        n = esc(&s.name),
        t = esc(title),
        all = s.servers.len()
    );
    if s.servers.is_empty() {
        h.push_str(r#"<tr><td colspan="8" class="empty">no servers</td></tr>"#);
    }
    for v in &s.servers {
        server_row(h, &s.name, v, writable);
    }
    h.push_str("</tbody></table></section>");
}

fn server_row(h: &mut String, service: &str, v: &ServerView, writable: bool) {
    let (svc, key) = (esc(service), esc(&v.key));
    let _ = write!(
        h,
        r#"<tr data-server="{key}" class="{cls}"><td class="key"><code>{key}</code></td><td>"#,
        cls = if v.active { "active" } else { "inactive" }
    );
    let (label, next, button) = if v.active {
        ("active", "inactive", "Mark inactive")
    } else {
        ("inactive", "active", "Mark active")
    };
    let _ = write!(h, r#"<span class="badge {label}">{label}</span>"#);
    if writable {
        let _ = write!(
            h,
            r#"<form method="post" action="/state" class="inline"><input type="hidden" name="service" value="{svc}"><input type="hidden" name="server" value="{key}"><input type="hidden" name="state" value="{next}"><button type="submit" class="state-{next}">{button}</button></form>"#
        );
    }
    h.push_str("</td><td>");
    match &v.health {
        Ok(ms) => {
            let _ = write!(h, r#"<span class="health up">● {ms:.2} ms</span>"#);
        }
        Err(e) => {
            let _ = write!(
                h,
                r#"<span class="health down" title="{}">● down</span>"#,
                esc(e)
            );
        }
    }
    h.push_str("</td><td>");
    load_cell(h, v);
    h.push_str("</td><td>");
    latency_cell(h, v);
    h.push_str("</td><td>");
    if writable {
        let _ = write!(
            h,
            r#"<form method="post" action="/weight" class="inline"><input type="hidden" name="service" value="{svc}"><input type="hidden" name="server" value="{key}"><input type="number" name="weight" min="0" max="1000000" value="{w}" aria-label="weight"><button type="submit" class="set-weight">Set</button></form>"#,
            w = v.weight
        );
    } else {
        let _ = write!(h, "{}", v.weight);
    }
    let _ = write!(h, "</td><td>{}</td><td>", esc(&v.groups.join(", ")));
    for (k, val) in &v.custom {
        let _ = write!(h, r#"<span class="kv">{}={}</span> "#, esc(k), esc(val));
    }
    h.push_str("</td></tr>");
}

/// The server's call and connection rates, from rpcx's `calls` and `connections` metadata
/// (mean per second since the server started; written by Go's registry plugins with metrics
/// on and by `RegistrarPlugin::report_rates`), or a dash.
fn load_cell(h: &mut String, v: &ServerView) {
    let get = |key: &str| {
        v.custom
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, val)| val.as_str())
    };
    match (get("calls"), get("connections")) {
        (None, None) => h.push_str(r#"<span class="muted">—</span>"#),
        (calls, conns) => {
            let _ = write!(
                h,
                r#"<span class="load">{} calls/s · {} conns/s</span>"#,
                esc(calls.unwrap_or("?")),
                esc(conns.unwrap_or("?"))
            );
        }
    }
}

/// Calls per second, mean and p99 latency from the server's metrics endpoint (its `metrics`
/// metadata), over the time since the dashboard last looked; a dash when it advertises none.
fn latency_cell(h: &mut String, v: &ServerView) {
    let ms = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |x| format!("{x:.2} ms"));
    match &v.metrics {
        None => h.push_str(r#"<span class="muted">—</span>"#),
        Some(Err(e)) => {
            let _ = write!(
                h,
                r#"<span class="latency down" title="{}">metrics unreadable</span>"#,
                esc(e)
            );
        }
        Some(Ok(None)) => h.push_str(r#"<span class="latency muted">no calls yet</span>"#),
        Some(Ok(Some(l))) => {
            let (rate, window) = match (l.per_sec, l.window) {
                (Some(r), Some(w)) => (
                    format!("{r:.1} calls/s"),
                    format!("last {:.1} s", w.as_secs_f64()),
                ),
                _ => (format!("{:.0} calls", l.calls), "since start".to_owned()),
            };
            let _ = write!(
                h,
                r#"<span class="latency">p99 {} · mean {} · {rate}</span> <small class="muted">{window}</small>"#,
                ms(l.p99_ms),
                ms(l.mean_ms)
            );
        }
    }
}

fn call_card(h: &mut String, form: &CallForm, outcome: Option<&CallOutcome>, servers: &[&str]) {
    let _ = write!(
        h,
        r#"<section class="card call"><h2>Call a method<small>JSON arguments, JSON reply</small></h2>
<form method="post" action="/call" id="call-form"><div class="row">
<label>Service.Method<input type="text" name="method" id="call-method" placeholder="Arith.Mul" value="{}" required></label>
<label>Server<select name="server" id="call-server"><option value="">any (through the registry)</option>"#,
        esc(&form.method)
    );
    for s in servers {
        let sel = if *s == form.server { " selected" } else { "" };
        let _ = write!(h, r#"<option value="{0}"{sel}>{0}</option>"#, esc(s));
    }
    let _ = write!(
        h,
        r#"</select></label></div><label>Arguments (JSON)<textarea name="args" id="call-args" rows="4" placeholder='{{"A": 6, "B": 7}}'>{}</textarea></label>
<button type="submit" id="call-submit">Call</button></form>"#,
        esc(&form.args)
    );
    if let Some(o) = outcome {
        let _ = write!(
            h,
            r#"<div class="outcome {}" id="call-outcome"><div class="meta">{} in {:.1} ms{}</div><pre id="call-reply">{}</pre></div>"#,
            if o.ok { "ok" } else { "err" },
            if o.ok { "reply" } else { "error" },
            o.elapsed.as_secs_f64() * 1000.0,
            o.server
                .as_deref()
                .map(|s| format!(" from <code>{}</code>", esc(s)))
                .unwrap_or_default(),
            esc(&o.text)
        );
    }
    h.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_registry_is_escaped() {
        assert_eq!(
            esc(r#"<script>"a"&'b'</script>"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
        let services = [ServiceView {
            name: "<b>".into(),
            servers: vec![ServerView {
                key: "tcp@h:1\"><x".into(),
                metadata: String::new(),
                weight: 1,
                groups: vec![],
                active: true,
                custom: vec![("k".into(), "<i>".into())],
                health: Err("<down>".into()),
                metrics: Some(Err("<bad>".into())),
            }],
        }];
        let form = CallForm::default();
        let html = render(&Page {
            registry: "redis://h/<p>",
            writable: true,
            services: Ok(&services),
            notice: Some(Err("<n>".into())),
            form: &form,
            outcome: None,
        });
        for raw in ["<b>", "<x", "<i>", "<down>", "<p>", "<n>"] {
            assert!(!html.contains(raw), "{raw} unescaped");
        }
    }

    /// An active, answering server with `custom` metadata and no metrics.
    fn view(custom: Vec<(String, String)>) -> ServerView {
        ServerView {
            key: "tcp@h:1".into(),
            metadata: String::new(),
            weight: 1,
            groups: vec![],
            active: true,
            custom,
            health: Ok(1.0),
            metrics: None,
        }
    }

    #[test]
    fn the_load_column_shows_rpcx_rates_from_the_metadata() {
        let mut v = view(vec![
            ("calls".into(), "12.50".into()),
            ("connections".into(), "0.25".into()),
        ]);
        let mut h = String::new();
        load_cell(&mut h, &v);
        assert!(h.contains("12.50 calls/s · 0.25 conns/s"), "{h}");
        v.custom.clear();
        let mut h = String::new();
        load_cell(&mut h, &v);
        assert!(h.contains("—"), "{h}");
    }

    #[test]
    fn the_latency_column_shows_the_metrics_figures() {
        use super::super::metrics::Latency;
        use std::time::Duration;
        let mut v = view(vec![]);
        let cell = |v: &ServerView| {
            let mut h = String::new();
            latency_cell(&mut h, v);
            h
        };
        assert!(cell(&v).contains('—'));
        v.metrics = Some(Ok(Some(Latency {
            calls: 50.0,
            per_sec: Some(25.0),
            mean_ms: Some(20.0),
            p99_ms: Some(10.0),
            window: Some(Duration::from_secs(2)),
        })));
        let h = cell(&v);
        assert!(
            h.contains("p99 10.00 ms · mean 20.00 ms · 25.0 calls/s") && h.contains("last 2.0 s"),
            "{h}"
        );
        v.metrics = Some(Ok(Some(Latency {
            calls: 7.0,
            per_sec: None,
            mean_ms: Some(1.0),
            p99_ms: Some(2.0),
            window: None,
        })));
        assert!(cell(&v).contains("7 calls</span> <small class=\"muted\">since start"));
        v.metrics = Some(Err("HTTP 500".into()));
        assert!(cell(&v).contains(r#"title="HTTP 500">metrics unreadable"#));
    }
}
