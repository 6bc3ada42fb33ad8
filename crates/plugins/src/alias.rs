//! [`AliasPlugin`]: serve a method under other names (rpcx's `serverplugin.AliasPlugin`).
//!
//! A request for an alias is rewritten to the real service path and method as soon as it is
//! read, before every other hook, auth and the lookup, and gets rpcx's `__aliasAppliedKey=true`
//! metadata, which the handler can read. Its reply carries the alias names the caller sent.
//! Go's plugin means to do the same but its response hook has the wrong signature and never
//! runs, so Go's replies name the real method (see `docs/PROTOCOL.md`); rpcx clients match
//! replies by sequence number, so callers of either work with both.

use fastrpc_core::{ByteStr, Message};
use fastrpc_server::{Connection, ServerPlugin};
use std::collections::HashMap;

/// The metadata key set on a request whose names an alias rewrote (value `true`).
pub use fastrpc_core::keys::ALIAS_APPLIED as ALIAS_APPLIED_KEY;

/// Serves real methods under alias names.
///
/// ```
/// use fastrpc_plugins::alias::AliasPlugin;
/// let aliases = AliasPlugin::new()
///     .alias("Calc", "Times", "Arith", "Mul")
///     .alias("Calc", "Plus", "Arith", "Add");
/// assert_eq!(aliases.real_names("Calc", "Times"), Some(("Arith", "Mul")));
/// assert_eq!(aliases.real_names("Arith", "Mul"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct AliasPlugin {
    /// Alias path -> alias method -> (real path, real method).
    aliases: HashMap<String, HashMap<String, (ByteStr, ByteStr)>>,
}

impl AliasPlugin {
    /// A plugin with no aliases yet.
    pub fn new() -> AliasPlugin {
        AliasPlugin::default()
    }

    /// Serves `real_path.real_method` also as `alias_path.alias_method`. Setting the same
    /// alias again replaces its target.
    pub fn alias(
        mut self,
        alias_path: impl Into<String>,
        alias_method: impl Into<String>,
        real_path: impl Into<String>,
        real_method: impl Into<String>,
    ) -> AliasPlugin {
        let real = (
            ByteStr::from(real_path.into()),
            ByteStr::from(real_method.into()),
        );
        self.aliases
            .entry(alias_path.into())
            .or_default()
            .insert(alias_method.into(), real);
        self
    }

    /// The real service path and method behind an alias, or `None` when it is not one.
    pub fn real_names(&self, path: &str, method: &str) -> Option<(&str, &str)> {
        self.lookup(path, method).map(|(p, m)| (&**p, &**m))
    }

    fn lookup(&self, path: &str, method: &str) -> Option<&(ByteStr, ByteStr)> {
        self.aliases.get(path)?.get(method)
    }
}

impl ServerPlugin for AliasPlugin {
    fn rewrites_requests(&self) -> bool {
        !self.aliases.is_empty()
    }

    fn rewrite_request(&self, _conn: &Connection, msg: &mut Message) {
        if let Some((path, method)) = self.lookup(&msg.service_path, &msg.service_method) {
            msg.service_path = path.clone();
            msg.service_method = method.clone();
            msg.metadata.insert(ALIAS_APPLIED_KEY, "true");
        }
    }
}
