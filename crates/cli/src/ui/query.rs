//! Metadata queries read and written as Go's `net/url` does, so that what the dashboard
//! writes back is byte for byte what rpcx-ui writes: `url.ParseQuery`, `Values.Set` and
//! `Values.Encode` (keys sorted, `QueryEscape`d).

use fastrpc::discovery::{query_escape, query_unescape};

/// Go's `url.ParseQuery`: pairs split at `&`, each at its first `=`, both unescaped (`+` is
/// a space). Pairs Go rejects (a `;`, a bad escape) are skipped, as Go skips them.
pub(crate) fn parse(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty() && !part.contains(';'))
        .filter_map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            Some((query_unescape(k)?, query_unescape(v)?))
        })
        .collect()
}

/// Go's `Values.Set`: `key` gets the single value `value`, replacing any it had.
pub(crate) fn set(pairs: &mut Vec<(String, String)>, key: &str, value: &str) {
    pairs.retain(|(k, _)| k != key);
    pairs.push((key.to_owned(), value.to_owned()));
}

/// Go's `Values.Encode`: sorted by key (a key's values keep their order), `k=v` joined by
/// `&`, both `QueryEscape`d.
pub(crate) fn encode(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (k, v) in sorted {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&query_escape(k));
        out.push('=');
        out.push_str(&query_escape(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_encode_match_go() {
        // Go: v, _ := url.ParseQuery("weight=10&group=g1&tps=0"); v.Set("state", "inactive");
        // v.Encode() == "group=g1&state=inactive&tps=0&weight=10"
        let mut q = parse("weight=10&group=g1&tps=0");
        set(&mut q, "state", "inactive");
        assert_eq!(encode(&q), "group=g1&state=inactive&tps=0&weight=10");
        set(&mut q, "state", "active");
        set(&mut q, "weight", "3");
        assert_eq!(encode(&q), "group=g1&state=active&tps=0&weight=3");
    }

    #[test]
    fn escapes_like_query_escape() {
        let q = vec![
            ("name".to_owned(), "a b&c=d/é~*".to_owned()),
            ("group".to_owned(), "g1".to_owned()),
            ("group".to_owned(), "g0".to_owned()),
        ];
        assert_eq!(
            encode(&q),
            "group=g1&group=g0&name=a+b%26c%3Dd%2F%C3%A9~%2A"
        );
        assert_eq!(parse(&encode(&q)), {
            let mut sorted = q.clone();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            sorted
        });
    }

    #[test]
    fn malformed_pairs_are_skipped_like_go() {
        assert_eq!(
            parse("a=1&&b=%zz&c;d=2&e&f=%41"),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("e".to_owned(), String::new()),
                ("f".to_owned(), "A".to_owned()),
            ]
        );
    }
}
