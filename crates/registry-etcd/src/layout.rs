//! rpcx-etcd's key layout (`rpcx-protocol.md` §5.1): keys used verbatim.

/// The value rpcx stores at the base path key.
pub const BASE_PATH_VALUE: &str = "rpcx_path";

/// The key of a service's directory, `{base}/{service}` (its value is the service name).
pub fn service_key(base_path: &str, service: &str) -> String {
    format!("{base_path}/{service}")
}

/// The key of one server of a service, `{base}/{service}/{server_key}` (its value is the
/// metadata query).
pub fn server_entry_key(base_path: &str, service: &str, server_key: &str) -> String {
    format!("{base_path}/{service}/{server_key}")
}

/// The directory a discovery lists: `{base}/{service}` with one trailing `/` dropped, as
/// `NewEtcdV3DiscoveryStore` does.
pub fn discovery_dir(base_path: &str, service: &str) -> String {
    let dir = format!("{base_path}/{service}");
    match dir.strip_suffix('/') {
        Some(d) if dir.len() > 1 => d.to_owned(),
        _ => dir,
    }
}

/// The prefix a listed key must start with, worked out as Go's discovery does from whether
/// the stored key and the directory start with `/`.
fn prefix_for(dir: &str, stored_key: &str) -> String {
    match (stored_key.starts_with('/'), dir.strip_prefix('/')) {
        (true, Some(_)) => format!("{dir}/"),
        (true, None) => format!("/{dir}/"),
        (false, Some(rest)) => format!("{rest}/"),
        (false, None) => format!("{dir}/"),
    }
}

/// The server key of a listed `stored_key` under `dir`, or `None` for the directory key
/// itself and for keys not under `dir/` (e.g. `{base}/Arith2/...` when listing `Arith`).
pub fn server_key_of<'k>(dir: &str, stored_key: &'k str) -> Option<&'k str> {
    let prefix = prefix_for(dir, stored_key);
    stored_key
        .strip_prefix(prefix.as_str())
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_verbatim() {
        assert_eq!(service_key("/rpcx_test", "Arith"), "/rpcx_test/Arith");
        assert_eq!(
            server_entry_key("/rpcx_test", "Arith", "tcp@127.0.0.1:8972"),
            "/rpcx_test/Arith/tcp@127.0.0.1:8972"
        );
        assert_eq!(
            server_entry_key("rpcx_test", "Arith", "tcp@127.0.0.1:8972"),
            "rpcx_test/Arith/tcp@127.0.0.1:8972"
        );
        assert_eq!(discovery_dir("/rpcx_test", "Arith"), "/rpcx_test/Arith");
        assert_eq!(discovery_dir("/rpcx_test", "Arith/"), "/rpcx_test/Arith");
    }

    #[test]
    fn server_keys_follow_gos_slash_logic() {
        let dir = "/rpcx_test/Arith";
        assert_eq!(server_key_of(dir, "/rpcx_test/Arith"), None);
        assert_eq!(
            server_key_of(dir, "/rpcx_test/Arith/tcp@127.0.0.1:8972"),
            Some("tcp@127.0.0.1:8972")
        );
        assert_eq!(server_key_of(dir, "/rpcx_test/Arith2/tcp@a:1"), None);
        // A key stored without the leading slash still matches a slashed directory.
        assert_eq!(
            server_key_of(dir, "rpcx_test/Arith/tcp@a:1"),
            Some("tcp@a:1")
        );
        assert_eq!(
            server_key_of("rpcx_test/Arith", "/rpcx_test/Arith/tcp@a:1"),
            Some("tcp@a:1")
        );
        assert_eq!(
            server_key_of("rpcx_test/Arith", "rpcx_test/Arith/unix@/tmp/s"),
            Some("unix@/tmp/s")
        );
    }
}
