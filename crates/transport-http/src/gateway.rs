//! rpcx's HTTP gateway (§2.2): one HTTP request, one rpcx call, `X-RPCX-*` headers.

use crate::bridge::Bridge;
use crate::headers::{self as h, get};
use crate::meta;
use crate::response::{Body, full};
use bytes::Bytes;
use fastrpc_core::{Message, SerializeType, keys};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, request::Parts};

/// What the converted request is, or why it is refused (the `X-RPCX-ErrorMessage`).
type Converted = Result<Message, String>;

/// Answers one gateway request whose body has been read.
pub(crate) async fn handle(bridge: &Bridge, parts: &Parts, body: Bytes) -> Response<Body> {
    let hdr = &parts.headers;
    let mut out = HeaderMap::new();
    set(&mut out, h::X_VERSION, get(hdr, h::X_VERSION));
    set(&mut out, h::X_MESSAGE_ID, get(hdr, h::X_MESSAGE_ID));
    let path = match get(hdr, h::X_SERVICE_PATH) {
        "" => url_service_path(parts.uri.path()),
        p => p.to_owned(),
    };
    set(&mut out, h::X_SERVICE_PATH, &path);
    set(&mut out, h::X_SERVICE_METHOD, get(hdr, h::X_SERVICE_METHOD));
    set(&mut out, h::X_SERIALIZE_TYPE, get(hdr, h::X_SERIALIZE_TYPE));

    let req = match convert(hdr, &path, body) {
        Ok(req) => req,
        // A request the gateway cannot read: HTTP 200, empty body, the error in headers.
        Err(text) => return error(StatusCode::OK, out, &text),
    };
    if let Err(reason) = bridge.server().authenticate(&req) {
        return error(StatusCode::UNAUTHORIZED, out, &reason);
    }
    let oneway = !get(hdr, h::X_ONEWAY).is_empty();
    let reply = match bridge.client().send_raw(req, None).await {
        Ok(Some(reply)) => reply,
        // Only oneway messages have no reply, and the gateway never sends one.
        Ok(None) => return error(StatusCode::INTERNAL_SERVER_ERROR, out, "no reply"),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, out, &e.to_string()),
    };
    if reply.header.is_error() {
        let text = reply.error_text().unwrap_or("unknown error").to_owned();
        return error(StatusCode::INTERNAL_SERVER_ERROR, out, &text);
    }
    set(&mut out, h::X_META, &meta::encode(&reply.metadata));
    let payload = if oneway { Bytes::new() } else { reply.payload };
    let mut res = full(StatusCode::OK, payload);
    res.headers_mut().extend(out);
    res
}

/// The service path taken from the URL (`/Arith` -> `Arith`), percent-decoded as httprouter
/// hands it over.
fn url_service_path(path: &str) -> String {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    percent_decode(trimmed)
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    // form_urlencoded also turns '+' into ' ', which a path must keep.
    let protected = s.replace('+', "%2B");
    form_urlencoded::parse(format!("p={protected}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Go's `HTTPRequest2RpcxRequest`, then the gateway's required-header checks, in Go's order.
fn convert(hdr: &HeaderMap, path: &str, body: Bytes) -> Converted {
    let mut req = Message::request(path.to_owned(), get(hdr, h::X_SERVICE_METHOD).to_owned());
    let id = get(hdr, h::X_MESSAGE_ID);
    if !id.is_empty() {
        req.header.seq = id
            .parse::<u64>()
            .map_err(|_| go_parse_error("ParseUint", id))?;
    }
    let st = get(hdr, h::X_SERIALIZE_TYPE);
    if st.is_empty() {
        return Err("empty serialized type".into());
    }
    req.header.set_serialize_type(parse_serialize_type(st)?);
    let ct = get(hdr, h::X_COMPRESS_TYPE);
    if !ct.is_empty() {
        // Parsed and checked as Go does; the body is taken as it is (see the crate docs).
        ct.parse::<i64>().map_err(|_| go_parse_error("Atoi", ct))?;
    }
    let meta_text = get(hdr, h::X_META);
    if !meta_text.is_empty() {
        req.metadata = meta::parse_strict(meta_text)?;
    }
    let auth = get(hdr, "authorization");
    if !auth.is_empty() {
        req.metadata.insert(keys::AUTH, auth.to_owned());
    }
    if path.is_empty() {
        return Err("empty servicepath".into());
    }
    if req.service_method.is_empty() {
        return Err("empty servicemethod".into());
    }
    req.payload = body;
    Ok(req)
}

fn parse_serialize_type(text: &str) -> Result<SerializeType, String> {
    let n = text
        .parse::<i64>()
        .map_err(|_| go_parse_error("Atoi", text))?;
    u8::try_from(n)
        .ok()
        .and_then(SerializeType::new)
        .ok_or_else(|| format!("serialize type {n} out of range 0..=15"))
}

/// The text of Go's `strconv` syntax errors, which rpcx sends as the error message.
fn go_parse_error(func: &str, text: &str) -> String {
    format!("strconv.{func}: parsing {text:?}: invalid syntax")
}

fn set(out: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        out.insert(HeaderName::from_static(name), v);
    }
}

fn error(status: StatusCode, mut out: HeaderMap, text: &str) -> Response<Body> {
    set(&mut out, h::X_MESSAGE_STATUS_TYPE, "Error");
    // A header value cannot hold control characters; keep the rest of the text.
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match HeaderValue::from_str(&clean) {
        Ok(v) => {
            out.insert(HeaderName::from_static(h::X_ERROR_MESSAGE), v);
        }
        Err(_) => {
            let ascii: String = clean.chars().filter(char::is_ascii).collect();
            set(&mut out, h::X_ERROR_MESSAGE, &ascii);
        }
    }
    let mut res = full(status, Bytes::new());
    res.headers_mut().extend(out);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn convert_errors_in_go_order() {
        let b = Bytes::new;
        let e = |p: &[(&'static str, &str)], path: &str| convert(&hdrs(p), path, b()).unwrap_err();
        assert_eq!(
            e(&[("x-rpcx-messageid", "x")], "A"),
            "strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert_eq!(e(&[], "A"), "empty serialized type");
        assert_eq!(
            e(&[("x-rpcx-serializetype", "j")], "A"),
            "strconv.Atoi: parsing \"j\": invalid syntax"
        );
        assert!(e(&[("x-rpcx-serializetype", "16")], "A").contains("out of range"));
        assert_eq!(
            e(
                &[("x-rpcx-serializetype", "1"), ("x-rpcx-compresstype", "z")],
                "A"
            ),
            "strconv.Atoi: parsing \"z\": invalid syntax"
        );
        assert_eq!(
            e(
                &[("x-rpcx-serializetype", "1"), ("x-rpcx-meta", "a=%g")],
                "A"
            ),
            "invalid URL escape \"%g\""
        );
        assert_eq!(e(&[("x-rpcx-serializetype", "1")], ""), "empty servicepath");
        assert_eq!(
            e(&[("x-rpcx-serializetype", "1")], "A"),
            "empty servicemethod"
        );
    }

    #[test]
    fn convert_fills_the_message() {
        let m = convert(
            &hdrs(&[
                ("x-rpcx-serializetype", "3"),
                ("x-rpcx-servicemethod", "Mul"),
                ("x-rpcx-messageid", "77"),
                ("x-rpcx-meta", "k=v&k=w"),
                ("authorization", "tok"),
            ]),
            "Arith",
            Bytes::from_static(b"x"),
        )
        .unwrap();
        assert_eq!(&*m.service_path, "Arith");
        assert_eq!(&*m.service_method, "Mul");
        assert_eq!(m.header.seq, 77);
        assert_eq!(m.header.serialize_type(), SerializeType::MSGPACK);
        assert_eq!(m.metadata.get("k"), Some("v"));
        assert_eq!(m.metadata.get(keys::AUTH), Some("tok"));
        assert!(!m.header.is_oneway() && !m.header.is_heartbeat());
    }

    #[test]
    fn url_path_is_decoded() {
        assert_eq!(url_service_path("/Arith"), "Arith");
        assert_eq!(url_service_path("/a%2Fb+c"), "a/b+c");
        assert_eq!(url_service_path("/"), "");
    }
}
