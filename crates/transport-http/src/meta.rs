//! `X-RPCX-Meta`: metadata as a URL query string, as Go's `url.ParseQuery` and
//! `url.Values.Encode` read and write it.

use fastrpc_core::Metadata;

/// Parses `k1=v1&k2=v2` into metadata, keeping the first value of each key. Errors as Go's
/// `url.ParseQuery` does: a `%` not followed by two hex digits, or a `;` separator.
pub(crate) fn parse_strict(query: &str) -> Result<Metadata, String> {
    if query.contains(';') {
        return Err("invalid semicolon separator in query".into());
    }
    let b = query.as_bytes();
    for (i, _) in query.match_indices('%') {
        let ok = b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
        if !ok {
            let end = (i + 3).min(b.len());
            let bad = String::from_utf8_lossy(&b[i..end]);
            return Err(format!("invalid URL escape {bad:?}"));
        }
    }
    Ok(parse_lenient(query))
}

/// Parses a query string, skipping what does not parse (JSON-RPC ignores the error, as Go).
pub(crate) fn parse_lenient(query: &str) -> Metadata {
    let mut md = Metadata::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !k.is_empty() {
            md.insert_if_absent(k.into_owned(), v.into_owned());
        }
    }
    md
}

/// Encodes metadata as Go's `url.Values.Encode`: keys sorted, `application/x-www-form-urlencoded`.
pub(crate) fn encode(md: &Metadata) -> String {
    let mut pairs: Vec<(&str, &str)> = md.iter().collect();
    pairs.sort_unstable();
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_first_value_and_escapes() {
        let md = parse_strict("a=1&b=x%20y&a=2&c=p+q").unwrap();
        assert_eq!(md.get("a"), Some("1"));
        assert_eq!(md.get("b"), Some("x y"));
        assert_eq!(md.get("c"), Some("p q"));
    }

    #[test]
    fn rejects_bad_escape_and_semicolon() {
        assert_eq!(
            parse_strict("a=%zz").unwrap_err(),
            "invalid URL escape \"%zz\""
        );
        assert_eq!(
            parse_strict("a=%4").unwrap_err(),
            "invalid URL escape \"%4\""
        );
        assert!(parse_strict("a=1;b=2").unwrap_err().contains("semicolon"));
    }

    #[test]
    fn encodes_sorted() {
        let md: Metadata = [("z", "1 2"), ("a", "&")].into_iter().collect();
        assert_eq!(encode(&md), "a=%26&z=1+2");
        assert_eq!(encode(&Metadata::new()), "");
    }
}
