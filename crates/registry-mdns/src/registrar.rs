//! [`MdnsRegistrar`]: announces a server's services over mDNS, in rpcx's TXT layout.

use crate::MdnsOptions;
use crate::daemon::new_daemon;
use crate::layout::{ServiceMeta, split_for_txt, txt_for};
use fastrpc_discovery::{BoxFuture, Registrar, RegistryError};
use mdns_sd::{ServiceDaemon, ServiceInfo, TxtProperty};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// The server side of the mDNS registry (rpcx's `MDNSRegisterPlugin`).
///
/// For each server key (`tcp@10.0.0.5:8972`) it announces instances of
/// `_rpcxservices._tcp.local.` named `{instance}-{port}` on that port, whose single TXT
/// string is the URL-query-escaped JSON list of the server's services (§5.5). When the list
/// would not fit in one 255-byte TXT string it is split over instances `{instance}-{port}-1`,
/// `-2`, ... (Go would fail; Go's discovery reads the split form correctly). The built-in
/// responder answers queries as long as the registrar lives; nothing needs refreshing.
/// [`close`](Registrar::close) sends goodbyes; dropping the registrar stops answering
/// silently (as a killed process), so browsers stop finding it at their next browse.
pub struct MdnsRegistrar {
    opts: MdnsOptions,
    daemon: ServiceDaemon,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// server key -> its services, in registration order.
    services: BTreeMap<String, Vec<ServiceMeta>>,
    /// server key -> the instance full names announced for it.
    published: HashMap<String, Vec<String>>,
}

impl MdnsRegistrar {
    /// A registrar with its own mDNS responder.
    pub fn new(opts: MdnsOptions) -> Result<MdnsRegistrar, RegistryError> {
        opts.validate()
            .map_err(|reason| RegistryError::InvalidUrl {
                url: "mdns://".into(),
                reason,
            })?;
        let daemon = new_daemon(&opts)?;
        Ok(MdnsRegistrar {
            opts,
            daemon,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Announces the current list of `server_key` (or withdraws it when empty).
    fn publish(&self, state: &mut State, server_key: &str) -> Result<(), RegistryError> {
        let list = state.services.get(server_key).cloned().unwrap_or_default();
        let old = state.published.remove(server_key).unwrap_or_default();
        let mut names = Vec::new();
        if !list.is_empty() {
            let groups = split_for_txt(&list).map_err(RegistryError::Backend)?;
            let (ip, port) = parse_key(server_key)?;
            for (n, group) in groups.iter().enumerate() {
                let instance = match n {
                    0 => format!("{}-{port}", self.opts.instance),
                    n => format!("{}-{port}-{n}", self.opts.instance),
                };
                // One host name per instance: several responders on one machine (one per
                // server) must not claim the same name.
                let host = format!("{instance}.local.");
                let props = vec![TxtProperty::from(txt_for(group).as_str())];
                let ty = self.opts.service_type();
                let info = match ip {
                    Some(ip) => ServiceInfo::new(&ty, &instance, &host, ip, port, props),
                    None => ServiceInfo::new(&ty, &instance, &host, "", port, props)
                        .map(ServiceInfo::enable_addr_auto),
                }
                .map_err(|e| RegistryError::Backend(format!("mDNS service info: {e}")))?;
                names.push(info.get_fullname().to_owned());
                self.daemon
                    .register(info)
                    .map_err(|e| RegistryError::Backend(format!("mDNS register: {e}")))?;
            }
        }
        for stale in old.iter().filter(|n| !names.contains(n)) {
            let _ = self.daemon.unregister(stale);
        }
        if !names.is_empty() {
            state.published.insert(server_key.to_owned(), names);
        }
        Ok(())
    }
}

/// The IP (when the key names one that is not unspecified) and port of `network@host:port`.
fn parse_key(server_key: &str) -> Result<(Option<IpAddr>, u16), RegistryError> {
    let addr = server_key.split_once('@').map_or(server_key, |(_, a)| a);
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            RegistryError::Backend(format!(
                "mDNS needs a host:port server key, not {server_key}"
            ))
        })?;
    let ip = host
        .parse::<IpAddr>()
        .ok()
        .filter(|ip| !ip.is_unspecified());
    Ok((ip, port))
}

impl Drop for MdnsRegistrar {
    fn drop(&mut self) {
        let _ = self.daemon.shutdown();
    }
}

impl std::fmt::Debug for MdnsRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdnsRegistrar")
            .field("instance", &self.opts.instance)
            .finish_non_exhaustive()
    }
}

impl Registrar for MdnsRegistrar {
    fn register<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
        metadata: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        let mut state = self.state();
        let list = state.services.entry(server_key.to_owned()).or_default();
        let entry = ServiceMeta {
            service: service.to_owned(),
            meta: metadata.to_owned(),
            service_address: server_key.to_owned(),
        };
        match list.iter_mut().find(|s| s.service == service) {
            Some(s) => *s = entry,
            None => list.push(entry),
        }
        let result = self.publish(&mut state, server_key);
        Box::pin(async move { result })
    }

    fn unregister<'a>(
        &'a self,
        server_key: &'a str,
        service: &'a str,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        let mut state = self.state();
        if let Some(list) = state.services.get_mut(server_key) {
            list.retain(|s| s.service != service);
            if list.is_empty() {
                state.services.remove(server_key);
            }
        }
        let result = self.publish(&mut state, server_key);
        Box::pin(async move { result })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        let names: Vec<String> = {
            let mut state = self.state();
            state.services.clear();
            state.published.drain().flat_map(|(_, n)| n).collect()
        };
        let waits: Vec<_> = names
            .iter()
            .filter_map(|n| self.daemon.unregister(n).ok())
            .collect();
        Box::pin(async move {
            for w in waits {
                let _ = tokio::time::timeout(Duration::from_secs(2), w.recv_async()).await;
            }
            Ok(())
        })
    }
}
