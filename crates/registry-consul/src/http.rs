//! A thin Consul HTTP client: the few requests the registry makes, over hyper 1.

use crate::ConsulOptions;
use bytes::Bytes;
use fastrpc_discovery::RegistryError;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A response: status, `X-Consul-Index` and body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) index: Option<u64>,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body parsed as JSON `T`, for a 2xx status.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, RegistryError> {
        if !(200..300).contains(&self.status) {
            return Err(self.error());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| RegistryError::Backend(format!("unexpected Consul response: {e}")))
    }

    /// The error this reply stands for.
    pub(crate) fn error(&self) -> RegistryError {
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(512)]).into_owned();
        RegistryError::Backend(format!("Consul answered {}: {}", self.status, text.trim()))
    }
}

/// The client: hosts tried in order, the last one that answered first.
pub(crate) struct ConsulHttp {
    hosts: Vec<String>,
    token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
    current: AtomicUsize,
}

impl ConsulHttp {
    pub(crate) fn new(opts: &ConsulOptions) -> ConsulHttp {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(opts.timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        ConsulHttp {
            hosts: opts.hosts.clone(),
            token: opts.token.clone(),
            client,
            timeout: opts.timeout,
            max_body: opts.max_body_bytes,
            current: AtomicUsize::new(0),
        }
    }

    /// Sends one request to the first host that answers; `extra` is added to the deadline
    /// (the wait of a blocking query).
    pub(crate) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        extra: Duration,
    ) -> Result<Reply, RegistryError> {
        let start = self.current.load(Ordering::Relaxed);
        let mut last = RegistryError::Unavailable("no Consul host".into());
        for i in 0..self.hosts.len() {
            let n = (start + i) % self.hosts.len();
            match self
                .send_to(&self.hosts[n], &method, path_and_query, body.clone(), extra)
                .await
            {
                Ok(reply) => {
                    self.current.store(n, Ordering::Relaxed);
                    return Ok(reply);
                }
                Err(e @ RegistryError::Unavailable(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn send_to(
        &self,
        host: &str,
        method: &Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        extra: Duration,
    ) -> Result<Reply, RegistryError> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(format!("http://{host}{path_and_query}"));
        if let Some(token) = &self.token {
            req = req.header("X-Consul-Token", token);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| RegistryError::Backend(format!("bad Consul request: {e}")))?;
        let work = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| RegistryError::Unavailable(format!("{host}: {e}")))?;
            let status = resp.status().as_u16();
            let index = resp
                .headers()
                .get("x-consul-index")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let body = Limited::new(resp.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    RegistryError::Unavailable(format!("{host}: reading the response: {e}"))
                })?
                .to_bytes();
            Ok(Reply {
                status,
                index,
                body,
            })
        };
        tokio::time::timeout(self.timeout + extra, work)
            .await
            .map_err(|_| RegistryError::Unavailable(format!("{host}: request timed out")))?
    }
}

/// Percent-encodes a key for a URL path (keeping `/`, `@` and `:`, as Consul's Go client
/// does for KV keys).
pub(crate) fn escape_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/@:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a query value.
pub(crate) fn escape_query(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `Duration.String()` for the durations sent to Consul (`10s`, `1m30s`, `750ms`).
pub(crate) fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, name) = if nanos < 1_000 {
            (1, "ns")
        } else if nanos < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        return format!("{}{name}", fraction(nanos, unit));
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    let sub = u128::from(s) * 1_000_000_000 + u128::from(d.subsec_nanos());
    out.push_str(&fraction(sub, 1_000_000_000));
    out.push('s');
    out
}

fn fraction(value: u128, unit: u128) -> String {
    let (whole, frac) = (value / unit, value % unit);
    if frac == 0 || unit == 1 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    format!(
        "{whole}.{}",
        format!("{frac:0width$}").trim_end_matches('0')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(750)), "750ms");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(
            escape_path("rpcx_test/Arith/tcp@127.0.0.1:8972"),
            "rpcx_test/Arith/tcp@127.0.0.1:8972"
        );
        assert_eq!(escape_path("a b?"), "a%20b%3F");
    }
}
