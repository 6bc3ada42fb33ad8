//! Extra `GET` paths served beside the gateway on the same port: a metrics scrape, a health
//! check. Each answers from a function of the user's; the gateway itself stays path-agnostic
//! (rpcx routes by `X-RPCX-*` headers), so a route only takes over its exact path.

use bytes::Bytes;
use std::sync::Arc;

/// What a route answers: a content type and a body, sent with `200 OK`.
#[derive(Debug, Clone)]
pub struct RouteResponse {
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body.
    pub body: Bytes,
}

impl RouteResponse {
    /// A response of `content_type` with `body`.
    pub fn new(content_type: impl Into<String>, body: impl Into<Bytes>) -> RouteResponse {
        RouteResponse {
            content_type: content_type.into(),
            body: body.into(),
        }
    }
}

/// The function behind a route, called once per request.
pub type RouteHandler = Arc<dyn Fn() -> RouteResponse + Send + Sync>;

/// The extra paths of a gateway.
#[derive(Clone, Default)]
pub(crate) struct Routes(Vec<(String, RouteHandler)>);

impl Routes {
    pub(crate) fn add(&mut self, path: String, handler: RouteHandler) {
        self.0.retain(|(p, _)| *p != path);
        self.0.push((path, handler));
    }

    pub(crate) fn get(&self, path: &str) -> Option<&RouteHandler> {
        self.0.iter().find(|(p, _)| p == path).map(|(_, h)| h)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(p, _)| p))
            .finish()
    }
}
