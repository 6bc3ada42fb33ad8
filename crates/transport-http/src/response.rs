//! The response body type and small builders.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::Full;

/// The body of every answer: the bytes are in memory (replies arrive whole over rpcx).
pub type Body = Full<Bytes>;

/// An answer with `status` and `body`.
pub(crate) fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res
}

/// A plain-text answer, as Go's `http.Error` writes it (text and a newline).
pub(crate) fn text(status: StatusCode, msg: &str) -> Response<Body> {
    let mut res = full(status, format!("{msg}\n"));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
