//! [`MdnsRegistrar`]: announces a server's services over mDNS, in rpcx's TXT layout.

use crate::MdnsOptions;
use crate::layout::{ServiceMeta, split_for_txt, txt_for};
use crate::responder::Responder;
use crate::socket::interface_addrs;
use crate::wire::Instance;
use fastrpc_discovery::{BoxFuture, Registrar, RegistryError};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// The server side of the mDNS registry (rpcx's `MDNSRegisterPlugin`).
///
/// For each server key (`tcp@10.0.0.5:8972`) it announces instances of
/// `_rpcxservices.local.` (Go's type; see [`MdnsOptions::service`]) named `{instance}-{port}`
/// on that port, whose single TXT string is the URL-query-escaped JSON list of the server's
/// services (§5.5), with an SRV record to `{instance}-{port}.local.` and its A records (the
/// key's IPv4 address, or the interfaces' when the key's host is unspecified). When the list
/// would not fit in one 255-byte TXT string it is split over instances
/// `{instance}-{port}-1`, `-2`, ... (Go would fail; Go's discovery reads the split form
/// correctly). The responder answers queries as long as the registrar lives; nothing needs
/// refreshing. [`close`](Registrar::close) sends goodbyes; dropping the registrar stops
/// answering silently (as a killed process), so browsers stop finding it at their next
/// browse.
pub struct MdnsRegistrar {
    opts: MdnsOptions,
    responder: Responder,
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
    /// A registrar with its own mDNS responder (call it inside a Tokio runtime).
    pub fn new(opts: MdnsOptions) -> Result<MdnsRegistrar, RegistryError> {
        opts.validate()
            .map_err(|reason| RegistryError::InvalidUrl {
                url: "mdns://".into(),
                reason,
            })?;
        let responder = Responder::start(opts.loopback)
            .map_err(|e| RegistryError::Unavailable(format!("mDNS: {e}")))?;
        Ok(MdnsRegistrar {
            opts,
            responder,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The instances announcing the current list of `server_key` (none when it is empty).
    fn instances_for(
        &self,
        state: &State,
        server_key: &str,
    ) -> Result<Vec<Instance>, RegistryError> {
        let list = state.services.get(server_key).cloned().unwrap_or_default();
        if list.is_empty() {
            return Ok(Vec::new());
        }
        let groups = split_for_txt(&list).map_err(RegistryError::Backend)?;
        let (ip, port) = parse_key(server_key)?;
        let addrs = match ip {
            Some(IpAddr::V4(v4)) => vec![v4],
            // Go announces every non-loopback IPv4 address of the host; a namespace with
            // only `lo` still gets an address.
            _ => Some(interface_addrs(false))
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| interface_addrs(self.opts.loopback)),
        };
        let service_type = self.opts.service_type();
        Ok(groups
            .iter()
            .enumerate()
            .map(|(n, group)| {
                let instance = match n {
                    0 => format!("{}-{port}", self.opts.instance),
                    n => format!("{}-{port}-{n}", self.opts.instance),
                };
                Instance {
                    name: format!("{instance}.{service_type}"),
                    // One host name per instance: several responders on one machine (one
                    // per server) must not claim the same name.
                    host: format!("{instance}.{}", self.opts.domain),
                    service_type: service_type.clone(),
                    port,
                    txt: vec![txt_for(group)],
                    addrs: addrs.clone(),
                }
            })
            .collect())
    }

    /// Announces the current list of `server_key` (or withdraws it when empty); the future
    /// sends the goodbyes of instances no longer needed.
    fn publish(
        &self,
        state: &mut State,
        server_key: &str,
    ) -> Result<BoxFuture<'static, ()>, RegistryError> {
        let instances = self.instances_for(state, server_key)?;
        let old = state.published.remove(server_key).unwrap_or_default();
        let names: Vec<String> = instances.iter().map(|i| i.name.clone()).collect();
        for inst in instances {
            self.responder.publish(inst);
        }
        let goodbyes: Vec<_> = old
            .iter()
            .filter(|n| !names.contains(n))
            .map(|n| self.responder.withdraw(n))
            .collect();
        if !names.is_empty() {
            state.published.insert(server_key.to_owned(), names);
        }
        Ok(Box::pin(async move {
            for g in goodbyes {
                g.await;
            }
        }))
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
        drop(state);
        Box::pin(async move {
            result?.await;
            Ok(())
        })
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
        drop(state);
        Box::pin(async move {
            result?.await;
            Ok(())
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), RegistryError>> {
        let goodbyes: Vec<_> = {
            let mut state = self.state();
            state.services.clear();
            state.published.clear();
            self.responder
                .published()
                .iter()
                .map(|n| self.responder.withdraw(n))
                .collect()
        };
        Box::pin(async move {
            for g in goodbyes {
                let _ = tokio::time::timeout(Duration::from_secs(2), g).await;
            }
            Ok(())
        })
    }
}
