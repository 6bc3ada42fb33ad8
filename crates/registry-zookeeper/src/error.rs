//! Mapping zookeeper-client's errors onto [`RegistryError`].

use fastrpc_discovery::RegistryError;
use zookeeper_client::Error as ZkError;

/// `Unavailable` for connection trouble and lost sessions (retry later), `Backend` for
/// ZooKeeper's own answers.
pub(crate) fn to_registry_error(e: ZkError) -> RegistryError {
    if is_connection_error(&e) {
        RegistryError::Unavailable(format!("zookeeper: {e}"))
    } else {
        RegistryError::Backend(format!("zookeeper: {e}"))
    }
}

/// True for errors that mean "not reachable now" rather than "refused".
pub(crate) fn is_connection_error(e: &ZkError) -> bool {
    matches!(
        e,
        ZkError::ConnectionLoss
            | ZkError::SessionExpired
            | ZkError::Timeout
            | ZkError::NoHosts
            | ZkError::ClientClosed
    )
}

/// True when the session is gone for good: a new client (a new session) is needed.
pub(crate) fn is_session_lost(e: &ZkError) -> bool {
    matches!(
        e,
        ZkError::SessionExpired | ZkError::ClientClosed | ZkError::AuthFailed | ZkError::NoHosts
    )
}

/// A request that did not finish within its deadline.
pub(crate) fn timed_out(what: &str) -> RegistryError {
    RegistryError::Unavailable(format!("zookeeper: {what} timed out"))
}
