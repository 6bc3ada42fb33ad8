//! Per-server call rate and latency for the dashboard, read from each server's own Prometheus
//! endpoint.
//!
//! A server advertises where its metrics are with the `metrics` key of its registry metadata
//! (`RegistrarPlugin::advertise_metrics`, with fastrpc's `ServerMetrics` plugin and
//! `PrometheusExporter` on). The dashboard reads `fastrpc_server_request_duration_seconds`, the
//! latency histogram that plugin records per service and method, and shows for each server of a
//! service: calls per second, mean and p99 latency. The figures cover the time since the
//! dashboard last read that endpoint (the difference of two scrapes, as Prometheus' `rate()`
//! and `histogram_quantile()` compute them); on the first look, and after a server restart
//! (counters went down), they cover the time since the server started.
//!
//! The exposition text is parsed here (a few lines of one metric): `prometheus-parse`, the
//! common crate, keeps only the `le` label of histogram buckets and merges every label set
//! into one histogram, which loses the per-service split this needs.

use axum::http::{Request, StatusCode, Uri};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The latency histogram of fastrpc's `ServerMetrics` plugin (seconds, by service and method).
pub(crate) const DURATION: &str = "fastrpc_server_request_duration_seconds";

/// The largest metrics page read; a longer one is an error (a server's page is a few KiB).
const MAX_BODY: usize = 4 << 20;

/// One service's latency histogram, summed over its methods.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Histogram {
    /// Calls observed.
    pub(crate) count: f64,
    /// Seconds, summed over the calls.
    pub(crate) sum: f64,
    /// `(le, cumulative count)`, by increasing `le`; the last is `+Inf`.
    pub(crate) buckets: Vec<(f64, f64)>,
}

impl Histogram {
    fn add_bucket(&mut self, le: f64, count: f64) {
        match self.buckets.iter_mut().find(|(l, _)| *l == le) {
            Some((_, c)) => *c += count,
            None => {
                self.buckets.push((le, count));
                self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }

    /// `self - earlier`, or `None` when a counter went down (the server restarted).
    fn since(&self, earlier: &Histogram) -> Option<Histogram> {
        if self.count < earlier.count {
            return None;
        }
        let mut buckets = Vec::with_capacity(self.buckets.len());
        for &(le, count) in &self.buckets {
            let before = earlier
                .buckets
                .iter()
                .find(|(l, _)| *l == le)
                .map_or(0.0, |b| b.1);
            if count < before {
                return None;
            }
            buckets.push((le, count - before));
        }
        Some(Histogram {
            count: self.count - earlier.count,
            sum: self.sum - earlier.sum,
            buckets,
        })
    }

    /// The `q` quantile in seconds, interpolated linearly inside its bucket as Prometheus'
    /// `histogram_quantile` does (the `+Inf` bucket answers with the largest finite bound).
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last()?.1;
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let (mut prev_le, mut prev_count) = (0.0, 0.0);
        for &(le, count) in &self.buckets {
            if count >= rank {
                if le.is_infinite() {
                    return Some(prev_le);
                }
                let inside = count - prev_count;
                if inside <= 0.0 {
                    return Some(le);
                }
                return Some(prev_le + (le - prev_le) * (rank - prev_count) / inside);
            }
            (prev_le, prev_count) = (le, count);
        }
        Some(prev_le)
    }
}

/// What the dashboard shows for one server of one service.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Latency {
    /// Calls in the window.
    pub(crate) calls: f64,
    /// Calls per second over the window; `None` on a first look (since start: no window).
    pub(crate) per_sec: Option<f64>,
    /// Mean latency in milliseconds (`None` without calls).
    pub(crate) mean_ms: Option<f64>,
    /// p99 latency in milliseconds (`None` without calls).
    pub(crate) p99_ms: Option<f64>,
    /// The window, or `None` for "since the server started".
    pub(crate) window: Option<Duration>,
}

impl Latency {
    fn of(h: &Histogram, window: Option<Duration>) -> Latency {
        let has_calls = h.count > 0.0;
        Latency {
            calls: h.count,
            per_sec: window.map(|w| h.count / w.as_secs_f64().max(1e-9)),
            mean_ms: has_calls.then(|| h.sum / h.count * 1e3),
            p99_ms: if has_calls {
                h.quantile(0.99).map(|s| s * 1e3)
            } else {
                None
            },
            window,
        }
    }

    /// As JSON for `/api/services`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "calls": self.calls,
            "calls_per_sec": self.per_sec,
            "mean_ms": self.mean_ms,
            "p99_ms": self.p99_ms,
            "window_secs": self.window.map(|w| w.as_secs_f64()),
        })
    }
}

/// One read of one metrics endpoint.
#[derive(Debug)]
pub(crate) struct Scrape {
    at: Instant,
    by_service: HashMap<String, Histogram>,
}

impl Scrape {
    /// Parses the exposition text (only [`DURATION`]'s lines matter).
    pub(crate) fn parse(text: &str, at: Instant) -> Scrape {
        let mut by_service: HashMap<String, Histogram> = HashMap::new();
        for line in text.lines() {
            let Some((name, labels, value)) = sample(line) else {
                continue;
            };
            let Some(part) = name.strip_prefix(DURATION) else {
                continue;
            };
            let label = |k: &str| labels.iter().find(|(n, _)| n == k).map(|(_, v)| v);
            let Some(service) = label("service") else {
                continue;
            };
            let h = by_service.entry(service.clone()).or_default();
            match part {
                "_count" => h.count += value,
                "_sum" => h.sum += value,
                "_bucket" => {
                    if let Some(le) = label("le").and_then(|l| parse_value(l)) {
                        h.add_bucket(le, value);
                    }
                }
                _ => {}
            }
        }
        Scrape { at, by_service }
    }
}

/// The scrapes of one look at every endpoint, with the one before to subtract.
#[derive(Debug)]
pub(crate) struct Look {
    now: Arc<Scrape>,
    before: Option<Arc<Scrape>>,
}

impl Look {
    /// The figures of `service` on this server; `None` when its endpoint has no such service.
    pub(crate) fn latency(&self, service: &str) -> Option<Latency> {
        let now = self.now.by_service.get(service)?;
        let delta = self.before.as_ref().and_then(|b| {
            let window = self.now.at.checked_duration_since(b.at)?;
            let earlier = b.by_service.get(service).cloned().unwrap_or_default();
            Some((now.since(&earlier)?, window))
        });
        Some(match delta {
            Some((h, window)) => Latency::of(&h, Some(window)),
            None => Latency::of(now, None),
        })
    }
}

/// Reads metrics endpoints and keeps each one's last read, to subtract from the next.
pub(crate) struct Scraper {
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
    last: Mutex<HashMap<String, Arc<Scrape>>>,
}

impl Scraper {
    /// A scraper giving up on an endpoint after `timeout`.
    pub(crate) fn new(timeout: Duration) -> Scraper {
        Scraper {
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Reads every URL once, all at once. The reads kept are those of these URLs only, so
    /// servers that left the registry do not accumulate.
    pub(crate) async fn look(
        &self,
        urls: BTreeSet<String>,
    ) -> HashMap<String, Result<Look, String>> {
        let reads = urls.into_iter().map(|url| async move {
            let read = self.read(&url).await;
            (url, read)
        });
        let mut out = HashMap::new();
        for (url, read) in futures_util::future::join_all(reads).await {
            let look = read.map(|text| {
                let now = Arc::new(Scrape::parse(&text, Instant::now()));
                let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
                let before = last.insert(url.clone(), now.clone());
                Look { now, before }
            });
            out.insert(url, look);
        }
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|url, _| out.contains_key(url));
        out
    }

    async fn read(&self, url: &str) -> Result<String, String> {
        let uri: Uri = url.parse().map_err(|e| format!("bad metrics URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("only http:// metrics URLs are read, not {url}"));
        }
        let request = Request::get(uri)
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let read = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            if response.status() != StatusCode::OK {
                return Err(format!("HTTP {}", response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("reading the metrics: {e}"))?
                .to_bytes();
            String::from_utf8(body.to_vec()).map_err(|_| "the metrics are not UTF-8".to_owned())
        };
        tokio::time::timeout(self.timeout, read)
            .await
            .unwrap_or_else(|_| Err(format!("no answer in {:?}", self.timeout)))
    }
}

/// A sample's labels, in order.
type Labels = Vec<(String, String)>;

/// One sample line of the text format: name, labels, value. `None` for comments, blank and
/// malformed lines.
fn sample(line: &str) -> Option<(&str, Labels, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let (name, mut rest) = line.split_at(name_end);
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = label_set(after)?;
        labels = parsed;
        rest = tail;
    }
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some((name, labels, value))
}

/// `a="x",b="y\"z"}` → the pairs and what follows the `}`.
fn label_set(mut s: &str) -> Option<(Labels, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(tail) = s.strip_prefix('}') {
            return Some((labels, tail));
        }
        let (name, after) = s.split_once('=')?;
        let mut chars = after.strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((name.trim().to_owned(), value));
        s = &after[1 + end + 1..];
    }
}

/// A sample value: a float, `+Inf`, `-Inf` or `NaN`.
fn parse_value(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# TYPE fastrpc_server_request_duration_seconds histogram
fastrpc_server_request_duration_seconds_bucket{service="Arith",method="Mul",le="0.001"} 10
fastrpc_server_request_duration_seconds_bucket{service="Arith",method="Mul",le="0.01"} 90
fastrpc_server_request_duration_seconds_bucket{service="Arith",method="Mul",le="+Inf"} 100
fastrpc_server_request_duration_seconds_sum{service="Arith",method="Mul"} 0.5
fastrpc_server_request_duration_seconds_count{service="Arith",method="Mul"} 100
fastrpc_server_request_duration_seconds_bucket{service="Arith",method="Add",le="0.001"} 100
fastrpc_server_request_duration_seconds_bucket{service="Arith",method="Add",le="0.01"} 100
fastrpc_server_request_duration_seconds_bucket{service="Arith",method="Add",le="+Inf"} 100
fastrpc_server_request_duration_seconds_sum{service="Arith",method="Add"} 0.05
fastrpc_server_request_duration_seconds_count{service="Arith",method="Add"} 100
fastrpc_server_request_duration_seconds_count{service="Echo \"q\"",method="Say"} 7
fastrpc_server_requests_total{service="Arith",method="Mul"} 100
"#;

    #[test]
    fn sample_lines_with_quoted_labels_and_special_values() {
        let (name, labels, v) = sample(r#"m{a="x,y",b="q\"z\\"} 1.5e3 1700000000"#).unwrap();
        assert_eq!(name, "m");
        assert_eq!(
            labels,
            [("a".into(), "x,y".into()), ("b".into(), "q\"z\\".into())]
        );
        assert_eq!(v, 1500.0);
        assert_eq!(sample("m +Inf").unwrap().2, f64::INFINITY);
        assert!(sample("m NaN").unwrap().2.is_nan());
        assert_eq!(sample("# HELP m text"), None);
        assert_eq!(sample(r#"m{a="unterminated} 1"#), None);
        assert_eq!(sample("m"), None);
    }

    #[test]
    fn a_service_sums_its_methods() {
        let s = Scrape::parse(PAGE, Instant::now());
        let h = &s.by_service["Arith"];
        assert_eq!(h.count, 200.0);
        assert!((h.sum - 0.55).abs() < 1e-9);
        assert_eq!(
            h.buckets,
            [(0.001, 110.0), (0.01, 190.0), (f64::INFINITY, 200.0)]
        );
        assert_eq!(s.by_service["Echo \"q\""].count, 7.0);
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let h = Histogram {
            count: 100.0,
            sum: 0.0,
            buckets: vec![(0.001, 10.0), (0.01, 90.0), (f64::INFINITY, 100.0)],
        };
        // Rank 50 lies halfway through the (0.001, 0.01] bucket's 80 calls.
        assert!((h.quantile(0.5).unwrap() - 0.0055).abs() < 1e-9);
        // Rank 99 is in +Inf: the largest finite bound.
        assert_eq!(h.quantile(0.99), Some(0.01));
        assert_eq!(Histogram::default().quantile(0.99), None);
    }

    #[test]
    fn a_second_look_shows_the_window_and_a_restart_shows_since_start() {
        let t0 = Instant::now();
        let first = Arc::new(Scrape::parse(PAGE, t0));
        let later_page = PAGE
            .replace(
                "_count{service=\"Arith\",method=\"Mul\"} 100",
                "_count{service=\"Arith\",method=\"Mul\"} 150",
            )
            .replace(
                "_sum{service=\"Arith\",method=\"Mul\"} 0.5",
                "_sum{service=\"Arith\",method=\"Mul\"} 1.5",
            )
            // The 50 new calls all took more than 10 ms: only the +Inf bucket grows.
            .replace(
                "method=\"Mul\",le=\"+Inf\"} 100",
                "method=\"Mul\",le=\"+Inf\"} 150",
            );
        let second = Arc::new(Scrape::parse(&later_page, t0 + Duration::from_secs(2)));
        let look = Look {
            now: second.clone(),
            before: Some(first.clone()),
        };
        let l = look.latency("Arith").unwrap();
        assert_eq!(l.calls, 50.0);
        assert_eq!(l.per_sec, Some(25.0));
        // 1 s over 50 calls.
        assert!((l.mean_ms.unwrap() - 20.0).abs() < 1e-6, "{l:?}");
        // All 50 new calls were slower than 10 ms.
        assert_eq!(l.p99_ms, Some(10.0));
        assert_eq!(l.window, Some(Duration::from_secs(2)));
        // Counters went down: the server restarted; figures since its start.
        let restart = Look {
            now: first,
            before: Some(second),
        };
        let l = restart.latency("Arith").unwrap();
        assert_eq!((l.calls, l.window, l.per_sec), (200.0, None, None));
        assert_eq!(restart.latency("Nope"), None);
    }

    /// An HTTP endpoint answering every request with `PAGE`.
    async fn endpoint() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut head = [0u8; 1024];
                let _ = s.read(&mut head).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
                    PAGE.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        format!("http://{addr}/metrics")
    }

    #[tokio::test]
    async fn reads_are_kept_only_for_the_urls_of_the_last_look() {
        let scraper = Scraper::new(Duration::from_secs(10));
        let url = endpoint().await;
        let looks = scraper.look(BTreeSet::from([url.clone()])).await;
        let look = looks[&url].as_ref().unwrap();
        assert_eq!(look.latency("Arith").unwrap().calls, 200.0);
        assert_eq!(scraper.last.lock().unwrap().len(), 1);
        // The server left the registry: its read is dropped.
        assert!(scraper.look(BTreeSet::new()).await.is_empty());
        assert!(scraper.last.lock().unwrap().is_empty());
    }
}
