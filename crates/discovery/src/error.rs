//! [`RegistryError`]: what can go wrong between fastrpc and a registry.

/// An error of a registry URL, a registry backend or a registrar.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The URL could not be parsed or lacks a required part.
    #[error("invalid registry url `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL's scheme names a registry whose crate is not compiled in.
    #[error(
        "registry scheme `{scheme}://` needs the `{feature}` Cargo feature of `fastrpc` \
         (enable it: `fastrpc = {{ features = [\"{feature}\"] }}`)"
    )]
    FeatureDisabled {
        /// The scheme, e.g. `etcd`.
        scheme: String,
        /// The Cargo feature to enable, e.g. `etcd`.
        feature: &'static str,
    },
    /// The URL's scheme is not a registry fastrpc knows.
    #[error(
        "unknown registry scheme `{0}://` (known: etcd, zookeeper, consul, redis, mdns, static, p2p, dns)"
    )]
    UnknownScheme(String),
    /// The registry could not be reached (connection refused, timed out, lost).
    #[error("registry unavailable: {0}")]
    Unavailable(String),
    /// The registry answered with an error.
    #[error("registry error: {0}")]
    Backend(String),
    /// The entry to change is not in the registry (the server is gone, or never registered).
    #[error("no entry `{0}` in the registry")]
    NotFound(String),
    /// This registry cannot do what was asked (e.g. rewrite another server's entry).
    #[error("this registry does not support {0}")]
    Unsupported(&'static str),
}

impl RegistryError {
    /// True when the registry could not be reached: trying again later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, RegistryError::Unavailable(_))
    }
}
