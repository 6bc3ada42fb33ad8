//! CORS for browsers calling the gateway or JSON-RPC, as rpcx's `SetCORS` (rs/cors) does it.
//!
//! Written here rather than taken from `tower-http`: the rules needed are a page long, and the
//! front end is a plain hyper service, not a tower stack.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method};

/// Which cross-origin requests browsers may make (rpcx's `CORSOptions`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CorsOptions {
    /// Origins allowed (`https://example.com`); `"*"` allows any.
    pub allowed_origins: Vec<String>,
    /// Methods allowed in preflight answers (`GET`, `POST`, ...).
    pub allowed_methods: Vec<String>,
    /// Request headers allowed; `"*"` allows whatever the browser asks for.
    pub allowed_headers: Vec<String>,
    /// Response headers scripts may read (for example `X-RPCX-ErrorMessage`).
    pub exposed_headers: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds (`0` = not sent).
    pub max_age_secs: u64,
    /// Allow credentials (cookies, `Authorization`); the origin is then echoed, never `*`.
    pub allow_credentials: bool,
}

impl CorsOptions {
    /// rpcx's `AllowAllCORSOptions()`: any origin, the methods HEAD, GET, POST, PUT, PATCH and
    /// DELETE, any header, no credentials. Also exposes the `X-RPCX-*` answer headers.
    pub fn allow_all() -> CorsOptions {
        CorsOptions {
            allowed_origins: vec!["*".into()],
            allowed_methods: ["HEAD", "GET", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allowed_headers: vec!["*".into()],
            exposed_headers: [
                "X-RPCX-Version",
                "X-RPCX-MessageID",
                "X-RPCX-ServicePath",
                "X-RPCX-ServiceMethod",
                "X-RPCX-SerializeType",
                "X-RPCX-Meta",
                "X-RPCX-MessageStatusType",
                "X-RPCX-ErrorMessage",
            ]
            .map(String::from)
            .to_vec(),
            max_age_secs: 0,
            allow_credentials: false,
        }
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }

    fn allow_origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        if self.allowed_origins.iter().any(|o| o == "*") && !self.allow_credentials {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        }
    }

    /// The headers of a preflight answer (`OPTIONS` with `Access-Control-Request-Method`), or
    /// `None` when `req` is not a preflight request. A refused preflight gets no CORS headers.
    pub(crate) fn preflight(&self, method: &Method, req: &HeaderMap) -> Option<HeaderMap> {
        if method != Method::OPTIONS {
            return None;
        }
        let origin = req.get(ORIGIN)?;
        let wanted = req.get(ACCESS_CONTROL_REQUEST_METHOD)?.to_str().ok()?;
        let mut out = HeaderMap::new();
        out.append(VARY, HeaderValue::from_static("Origin"));
        let method_ok = self
            .allowed_methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case(wanted));
        if !self.origin_allowed(origin.to_str().unwrap_or("")) || !method_ok {
            return Some(out);
        }
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin));
        if let Ok(v) = HeaderValue::from_str(&wanted.to_ascii_uppercase()) {
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        if let Some(asked) = req.get(ACCESS_CONTROL_REQUEST_HEADERS) {
            let asked_text = asked.to_str().unwrap_or("");
            let all_ok = self.allowed_headers.iter().any(|h| h == "*")
                || asked_text.split(',').map(str::trim).all(|a| {
                    a.is_empty()
                        || self
                            .allowed_headers
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case(a))
                });
            if !all_ok {
                return Some(out);
            }
            out.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        if self.allow_credentials {
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if self.max_age_secs > 0 {
            out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(self.max_age_secs));
        }
        Some(out)
    }

    /// Adds the CORS headers of an actual (not preflight) answer to a request from `req`.
    pub(crate) fn decorate(&self, req: &HeaderMap, out: &mut HeaderMap) {
        let Some(origin) = req.get(ORIGIN) else {
            return;
        };
        out.append(VARY, HeaderValue::from_static("Origin"));
        if !self.origin_allowed(origin.to_str().unwrap_or("")) {
            return;
        }
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin));
        if self.allow_credentials {
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if !self.exposed_headers.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&self.exposed_headers.join(", ")) {
                out.insert(ACCESS_CONTROL_EXPOSE_HEADERS, v);
            }
        }
    }
}
