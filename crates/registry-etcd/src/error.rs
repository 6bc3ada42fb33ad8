//! Mapping etcd-client's errors onto [`RegistryError`].

use fastrpc_discovery::RegistryError;

/// gRPC status codes that mean "etcd could not be reached or did not answer in time":
/// Cancelled (1), Unknown (2), DeadlineExceeded (4), Unavailable (14).
const TRANSIENT_GRPC_CODES: [i32; 4] = [1, 2, 4, 14];

/// `Unavailable` for transport trouble (retry later), `Backend` for etcd's own answers.
pub(crate) fn to_registry_error(e: etcd_client::Error) -> RegistryError {
    use etcd_client::Error as E;
    let transient = match &e {
        E::TransportError(_) | E::IoError(_) => true,
        E::GRpcStatus(s) => TRANSIENT_GRPC_CODES.contains(&(s.code() as i32)),
        _ => false,
    };
    if transient {
        RegistryError::Unavailable(format!("etcd: {e}"))
    } else {
        RegistryError::Backend(format!("etcd: {e}"))
    }
}

/// True when etcd says the lease is gone (expired or revoked): it must be granted again.
pub(crate) fn is_lease_not_found(e: &etcd_client::Error) -> bool {
    e.to_string().contains("requested lease not found")
}

/// A request that did not finish within its deadline.
pub(crate) fn timed_out(what: &str) -> RegistryError {
    RegistryError::Unavailable(format!("etcd: {what} timed out"))
}
