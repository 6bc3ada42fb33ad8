//! Go's `url.QueryEscape` and `url.QueryUnescape`, byte for byte: registry metadata is a
//! query string, and what fastrpc writes into a registry (an rpcx-ui style rewrite, a metrics
//! URL, an mDNS TXT record) must read the same to Go.

/// Go's `url.QueryEscape`: `A-Z a-z 0-9 - _ . ~` kept, space as `+`, every other byte `%XX`
/// (upper-case hex).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    out
}

/// Go's `url.QueryUnescape`: `+` as space, `%XX` decoded; `None` on a malformed escape (Go's
/// error) or when the bytes are not UTF-8.
pub fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let (h, l) = (bytes.get(i + 1)?, bytes.get(i + 2)?);
                out.push(hex(*h)? << 4 | hex(*l)?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go() {
        // Go: url.QueryEscape("a b+c/é~*") == "a+b%2Bc%2F%C3%A9~%2A"
        assert_eq!(query_escape("a b+c/é~*"), "a+b%2Bc%2F%C3%A9~%2A");
        assert_eq!(
            query_escape("http://127.0.0.1:9100/metrics"),
            "http%3A%2F%2F127.0.0.1%3A9100%2Fmetrics"
        );
        assert_eq!(
            query_unescape("a+b%2Bc%2F%C3%A9~%2a").as_deref(),
            Some("a b+c/é~*")
        );
        // Go rejects these escapes.
        for bad in ["%zz", "%4", "%", "%+1", "%-1"] {
            assert_eq!(query_unescape(bad), None, "{bad}");
        }
        assert_eq!(query_unescape("%FF"), None, "not UTF-8");
    }
}
