//! The HTTP/1.1 upgrade, both sides (RFC 6455 §4), as Go's x/net/websocket expects it.

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

use crate::error::WsError;
use crate::io::BoxIo;

const MAX_HEADERS: usize = 64;

/// Reads up to the end of an HTTP head; returns the head and any bytes after it.
async fn read_head(io: &mut BoxIo, max: usize) -> Result<(BytesMut, BytesMut), WsError> {
    let mut buf = BytesMut::with_capacity(1024);
    let mut scanned = 0;
    loop {
        if let Some(at) = buf[scanned..].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf.split_to(scanned + at + 4);
            return Ok((head, buf));
        }
        scanned = buf.len().saturating_sub(3);
        if buf.len() >= max {
            return Err(WsError::HeadTooLarge(max));
        }
        buf.reserve(1024);
        if io.read_buf(&mut buf).await? == 0 {
            return Err(WsError::ClosedDuringHandshake);
        }
    }
}

fn header<'h>(headers: &'h [httparse::Header<'h>], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::trim)
}

fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Checks an upgrade request for `path`; returns the `Sec-WebSocket-Accept` value.
fn check_request(head: &[u8], path: &str) -> Result<String, WsError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(WsError::MalformedHead("incomplete".into())),
        Err(e) => return Err(WsError::MalformedHead(e.to_string())),
    }
    if req.method != Some("GET") {
        return Err(WsError::BadRequest("the method is not GET"));
    }
    let got = req.path.unwrap_or("").split('?').next().unwrap_or("");
    if got != path {
        return Err(WsError::WrongPath {
            got: got.to_string(),
            expected: path.to_string(),
        });
    }
    if !has_token(header(req.headers, "upgrade"), "websocket") {
        return Err(WsError::BadRequest("no Upgrade: websocket header"));
    }
    if !has_token(header(req.headers, "connection"), "upgrade") {
        return Err(WsError::BadRequest("no Connection: Upgrade header"));
    }
    if header(req.headers, "sec-websocket-version") != Some("13") {
        return Err(WsError::BadRequest("Sec-WebSocket-Version is not 13"));
    }
    let key = header(req.headers, "sec-websocket-key")
        .filter(|k| !k.is_empty())
        .ok_or(WsError::BadRequest("no Sec-WebSocket-Key header"))?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// The server side: reads the upgrade request and answers 101, or answers 404 (wrong path) or
/// 400 and fails. Returns the bytes the client sent after its request.
pub(crate) async fn accept(
    io: &mut BoxIo,
    path: &str,
    max_head: usize,
) -> Result<BytesMut, WsError> {
    let result = match read_head(io, max_head).await {
        Ok((head, rest)) => check_request(&head, path).map(|accept| (accept, rest)),
        Err(e) => Err(e),
    };
    match result {
        Ok((accept, rest)) => {
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            io.write_all(response.as_bytes()).await?;
            io.flush().await?;
            Ok(rest)
        }
        Err(e) => {
            let status = match e {
                WsError::WrongPath { .. } => Some("404 Not Found"),
                WsError::HeadTooLarge(_) => Some("431 Request Header Fields Too Large"),
                WsError::MalformedHead(_) | WsError::BadRequest(_) => Some("400 Bad Request"),
                _ => None,
            };
            if let Some(status) = status {
                let body = e.to_string();
                let response = format!(
                    "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = io.write_all(response.as_bytes()).await;
                let _ = io.shutdown().await;
            }
            Err(e)
        }
    }
}

/// The client side: sends the upgrade request with `Origin` and checks the 101 answer.
/// Returns the bytes the server sent after its answer.
pub(crate) async fn connect(
    io: &mut BoxIo,
    host: &str,
    path: &str,
    origin: &str,
    max_head: usize,
) -> Result<BytesMut, WsError> {
    let key = generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    );
    io.write_all(request.as_bytes()).await?;
    io.flush().await?;
    let (head, rest) = read_head(io, max_head).await?;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(WsError::MalformedHead("incomplete".into())),
        Err(e) => return Err(WsError::MalformedHead(e.to_string())),
    }
    match resp.code {
        Some(101) => {}
        Some(code) => return Err(WsError::Status(code)),
        None => return Err(WsError::MalformedHead("no status code".into())),
    }
    if !has_token(header(resp.headers, "upgrade"), "websocket") {
        return Err(WsError::BadResponse("no Upgrade: websocket header"));
    }
    if header(resp.headers, "sec-websocket-accept") != Some(&derive_accept_key(key.as_bytes())) {
        return Err(WsError::BadResponse(
            "Sec-WebSocket-Accept does not match the key",
        ));
    }
    Ok(rest)
}
