//! rpcx's ZooKeeper layout (`rpcx-protocol.md` §5.2): one leading `/` stripped from the base
//! path by the plugin, then every key normalised to `"/" + key` by libkv's store.

/// The data rpcx stores in the base path node.
pub const BASE_PATH_VALUE: &str = "rpcx_path";

/// The base path as rpcx's plugin and discovery use it: one leading `/` stripped, and one
/// trailing `/` dropped (`/rpcx_test/` becomes `rpcx_test`).
pub fn strip_base(base_path: &str) -> &str {
    let base = base_path.strip_prefix('/').unwrap_or(base_path);
    match base.strip_suffix('/') {
        Some(b) if base.len() > 1 => b,
        _ => base,
    }
}

/// libkv's `store.Normalize`: the znode path of a key is `"/" + key`.
pub fn normalize(key: &str) -> String {
    format!("/{key}")
}

/// The znode of the base path (`/rpcx_test` for `/rpcx_test` and for `rpcx_test`).
pub fn base_node(base_path: &str) -> String {
    normalize(strip_base(base_path))
}

/// The znode of a service directory, `/{base}/{service}`; also what a discovery lists.
pub fn service_node(base_path: &str, service: &str) -> String {
    normalize(&format!("{}/{service}", strip_base(base_path)))
}

/// The znode of one server of a service, `/{base}/{service}/{server_key}`.
pub fn server_node(base_path: &str, service: &str, server_key: &str) -> String {
    normalize(&format!("{}/{service}/{server_key}", strip_base(base_path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_slash_handling_matches_rpcx() {
        for base in ["/rpcx_test", "rpcx_test", "/rpcx_test/"] {
            assert_eq!(base_node(base), "/rpcx_test");
            assert_eq!(service_node(base, "Arith"), "/rpcx_test/Arith");
            assert_eq!(
                server_node(base, "Arith", "tcp@127.0.0.1:8972"),
                "/rpcx_test/Arith/tcp@127.0.0.1:8972"
            );
        }
        // Only one slash is stripped, as Go does: the result is not a valid znode path,
        // and ZooKeeper refuses it (Go fails the same way).
        assert_eq!(base_node("//x"), "//x");
        assert_eq!(service_node("a/b", "S"), "/a/b/S");
    }
}
