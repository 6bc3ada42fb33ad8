//! Creating an mdns-sd daemon with the options' interfaces.

use crate::MdnsOptions;
use fastrpc_discovery::RegistryError;
use mdns_sd::{IfKind, ServiceDaemon};

/// A new mDNS daemon (its own thread and sockets), with loopback enabled when asked.
pub(crate) fn new_daemon(opts: &MdnsOptions) -> Result<ServiceDaemon, RegistryError> {
    let daemon =
        ServiceDaemon::new().map_err(|e| RegistryError::Unavailable(format!("mDNS: {e}")))?;
    if opts.loopback {
        daemon
            .enable_interface(IfKind::LoopbackV4)
            .map_err(|e| RegistryError::Backend(format!("mDNS: {e}")))?;
    }
    Ok(daemon)
}
