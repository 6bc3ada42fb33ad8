//! `http@` CONNECT tunnelling (rpcx-protocol.md §2.4), feature `http`: an HTTP CONNECT to
//! `/_rpcx_`, answered `HTTP/1.0 200 Connected to rpcx`, after which the connection carries
//! plain rpcx frames. The handshake lives here, below the server and client, so that the
//! `http@` network of the registry can use it; `fastrpc-transport-http` re-exports it.
//!
//! The head is read and written by hand (parsed with `httparse`) rather than through hyper,
//! so the bytes are exactly Go's: Go's client writes `CONNECT /_rpcx_ HTTP/1.0\n\n` with bare
//! line feeds and compares the status text with `200 Connected to rpcx`.

pub use crate::rewind::Rewind;
use bytes::{Bytes, BytesMut};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};

/// rpcx's `share.DefaultRPCPath`.
pub const RPC_PATH: &str = "/_rpcx_";
/// The status (code and text) of an accepted CONNECT.
pub const CONNECTED: &str = "200 Connected to rpcx";
/// The longest HTTP head either side reads.
pub const MAX_HEAD_BYTES: usize = 8 << 10;
/// How long the server waits for a CONNECT head by default.
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a CONNECT handshake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Reading or writing the connection failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The peer did not finish its HTTP head in time.
    #[error("timed out waiting for the HTTP head")]
    Timeout,
    /// The HTTP head did not end within [`MAX_HEAD_BYTES`].
    #[error("HTTP head longer than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    /// The connection closed before the HTTP head ended.
    #[error("connection closed before the HTTP head ended")]
    Closed,
    /// The HTTP head did not parse.
    #[error("malformed HTTP head: {0}")]
    Malformed(String),
    /// Server side: the request was not `CONNECT /_rpcx_`; the peer got this status.
    #[error("refused {method} {path}: answered {status}")]
    Refused {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// The HTTP status sent back (404 or 405).
        status: u16,
    },
    /// Client side: the server answered something other than `200 Connected to rpcx`.
    #[error("unexpected HTTP response to CONNECT: {0:?}")]
    UnexpectedStatus(String),
}

/// Server side: reads a CONNECT head from `io` and answers it. `CONNECT /_rpcx_` gets
/// `HTTP/1.0 200 Connected to rpcx` and the stream is returned, ready for rpcx frames; another
/// method gets `405 must CONNECT`, another path `404`, a malformed head `400`, each with the
/// connection closed after.
pub async fn accept_connect<S>(mut io: S, timeout: Duration) -> Result<Rewind<S>, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (head, rest) = tokio::time::timeout(timeout, read_head(&mut io))
        .await
        .map_err(|_| ConnectError::Timeout)??;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let parsed = req.parse(&head);
    let (method, path) = match (parsed, req.method, req.path) {
        (Ok(httparse::Status::Complete(_)), Some(m), Some(p)) => (m.to_owned(), p.to_owned()),
        (Err(e), ..) => {
            refuse(&mut io, 400, "Bad Request", "400 Bad Request").await;
            return Err(ConnectError::Malformed(e.to_string()));
        }
        _ => {
            refuse(&mut io, 400, "Bad Request", "400 Bad Request").await;
            return Err(ConnectError::Malformed("incomplete request line".into()));
        }
    };
    let status = if path != RPC_PATH {
        refuse(&mut io, 404, "Not Found", "404 page not found").await;
        404
    } else if method != "CONNECT" {
        refuse(&mut io, 405, "Method Not Allowed", "405 must CONNECT").await;
        405
    } else {
        io.write_all(format!("HTTP/1.0 {CONNECTED}\n\n").as_bytes())
            .await?;
        io.flush().await?;
        return Ok(Rewind::new(io, rest));
    };
    Err(ConnectError::Refused {
        method,
        path,
        status,
    })
}

/// Client side: sends `CONNECT <path> HTTP/1.0\n\n` as Go's client does and checks for
/// `200 Connected to rpcx`; then `io` carries rpcx frames (for `Client::from_io`).
pub async fn connect_handshake<S>(mut io: S, path: &str) -> Result<S, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(format!("CONNECT {path} HTTP/1.0\n\n").as_bytes())
        .await?;
    io.flush().await?;
    // Byte by byte: nothing after the head may be consumed here.
    let mut head = Vec::with_capacity(64);
    while head_end(&head).is_none() {
        if head.len() >= MAX_HEAD_BYTES {
            return Err(ConnectError::HeadTooLarge);
        }
        let b = match io.read_u8().await {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(ConnectError::Closed);
            }
            Err(e) => return Err(e.into()),
        };
        head.push(b);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut headers);
    res.parse(&head)
        .map_err(|e| ConnectError::Malformed(e.to_string()))?;
    let status = format!(
        "{} {}",
        res.code.unwrap_or_default(),
        res.reason.unwrap_or_default()
    );
    if status != CONNECTED {
        return Err(ConnectError::UnexpectedStatus(status));
    }
    Ok(io)
}

/// Client side of `http@addr`: dials TCP (no delay) and does the CONNECT handshake to
/// [`RPC_PATH`].
pub async fn dial(addr: impl ToSocketAddrs) -> Result<TcpStream, ConnectError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    connect_handshake(stream, RPC_PATH).await
}

/// Reads until the blank line that ends an HTTP head (`\n\n` or `\r\n\r\n`); returns the head
/// and whatever came after it.
async fn read_head<S: AsyncRead + Unpin>(io: &mut S) -> Result<(Bytes, Bytes), ConnectError> {
    let mut buf = BytesMut::with_capacity(256);
    loop {
        if let Some(end) = head_end(&buf) {
            let head = buf.split_to(end).freeze();
            return Ok((head, buf.freeze()));
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(ConnectError::HeadTooLarge);
        }
        let mut chunk = [0u8; 1024];
        let want = (MAX_HEAD_BYTES - buf.len()).min(chunk.len());
        let n = io.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Err(ConnectError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The end of the head: the index after its blank line.
fn head_end(buf: &[u8]) -> Option<usize> {
    (1..buf.len()).find_map(|i| match (buf[i - 1], buf[i]) {
        (b'\n', b'\n') => Some(i + 1),
        (b'\n', b'\r') if buf.get(i + 1) == Some(&b'\n') => Some(i + 2),
        _ => None,
    })
}

/// Writes a small error answer as Go's net/http does; errors are ignored (the peer may be gone).
async fn refuse<S: AsyncWrite + Unpin>(io: &mut S, code: u16, reason: &str, body: &str) {
    let text = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}\n",
        body.len() + 1
    );
    let _ = io.write_all(text.as_bytes()).await;
    let _ = io.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::head_end;

    #[test]
    fn head_ends_at_blank_line() {
        assert_eq!(head_end(b"CONNECT /_rpcx_ HTTP/1.0\n\nrest"), Some(26));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nx"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }
}
