//! [`MdnsOptions`]: the domain, instance name and browse timings.

use fastrpc_discovery::{RegistryError, RegistryUrl};
use std::time::Duration;

/// Options of the mDNS registrar and discovery.
///
/// From a URL (`mdns://?interval=5s&timeout=1s`; no host):
///
/// | option | default | meaning |
/// |---|---|---|
/// | `service` | `_rpcxservices` | the service name: Go rpcx's `_rpcxservices` (type `_rpcxservices.local.`), or `_rpcxservices._tcp` for the RFC 6763 form fastrpc used before |
/// | `domain` | `local.` | the DNS-SD domain (mDNS only serves `local.`) |
/// | `instance` | the host name | the instance name prefix (`{instance}-{port}[-{n}]`) |
/// | `interval` | `5s` | the discovery's browse period (rpcx's `WatchInterval`) |
/// | `timeout` | `1s` | how long one browse collects answers (rpcx's `Timeout`) |
/// | `loopback` | `true` | also use loopback interfaces (needed on a host without a LAN, and in tests) |
#[derive(Clone, Debug)]
pub struct MdnsOptions {
    /// The service name, one or two `_`-labels: [`SERVICE_TYPE`](crate::SERVICE_TYPE) (Go's)
    /// or [`SERVICE_TYPE_TCP`](crate::SERVICE_TYPE_TCP).
    pub service: String,
    /// The DNS-SD domain.
    pub domain: String,
    /// The instance name prefix.
    pub instance: String,
    /// The browse period.
    pub interval: Duration,
    /// How long one browse collects answers.
    pub timeout: Duration,
    /// Also use loopback interfaces.
    pub loopback: bool,
}

impl Default for MdnsOptions {
    fn default() -> Self {
        MdnsOptions {
            service: crate::SERVICE_TYPE.into(),
            domain: "local.".into(),
            instance: hostname(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            loopback: true,
        }
    }
}

impl MdnsOptions {
    /// The full service type, `_rpcxservices.local.` by default (as Go rpcx announces it).
    pub fn service_type(&self) -> String {
        format!("{}.{}", self.service, self.domain)
    }

    /// Options from an `mdns://` URL (see the table above).
    pub fn from_url(url: &RegistryUrl) -> Result<MdnsOptions, RegistryError> {
        let mut o = MdnsOptions::default();
        if let Some(d) = url.query("domain") {
            o.domain = if d.ends_with('.') {
                d.to_owned()
            } else {
                format!("{d}.")
            };
        }
        if let Some(s) = url.query("service") {
            o.service = s.trim_end_matches('.').to_owned();
        }
        if let Some(i) = url.query("instance") {
            o.instance = i.to_owned();
        }
        if let Some(i) = url.duration("interval")? {
            o.interval = i;
        }
        if let Some(t) = url.duration("timeout")? {
            o.timeout = t;
        }
        if let Some(l) = url.parsed("loopback")? {
            o.loopback = l;
        }
        o.validate().map_err(|reason| RegistryError::InvalidUrl {
            url: url.as_str().to_owned(),
            reason,
        })?;
        Ok(o)
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<(), String> {
        if self.domain != "local." {
            return Err(format!(
                "mDNS serves only the `local.` domain, not `{}`",
                self.domain
            ));
        }
        let labels: Vec<&str> = self.service.split('.').collect();
        if labels.len() > 2
            || labels
                .iter()
                .any(|l| l.len() < 2 || l.len() > 63 || !l.starts_with('_'))
        {
            return Err(format!(
                "the mDNS service must be one or two `_`-labels such as `_rpcxservices` or `_rpcxservices._tcp`, not `{}`",
                self.service
            ));
        }
        if self.interval.is_zero() || self.timeout.is_zero() {
            return Err("interval and timeout must not be zero".into());
        }
        if self.instance.is_empty() || self.instance.contains('.') || self.instance.len() > 50 {
            return Err(
                "the instance name must be non-empty, at most 50 bytes and without dots".into(),
            );
        }
        Ok(())
    }
}

/// The host name (Go's `os.Hostname()`), without a domain; `fastrpc` when unknown.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| {
            let h = h.trim().split('.').next().unwrap_or_default();
            // Leaves room for `-{port}-{n}` in a 63-byte DNS label.
            h.char_indices()
                .take_while(|(i, c)| i + c.len_utf8() <= 50)
                .map(|(_, c)| c)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "fastrpc".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_url() {
        let o = MdnsOptions::from_url(
            &RegistryUrl::parse("mdns://?interval=2s&timeout=500ms&instance=box").unwrap(),
        )
        .unwrap();
        assert_eq!(o.service_type(), "_rpcxservices.local.");
        let tcp = MdnsOptions::from_url(
            &RegistryUrl::parse("mdns://?service=_rpcxservices._tcp").unwrap(),
        )
        .unwrap();
        assert_eq!(tcp.service_type(), "_rpcxservices._tcp.local.");
        for bad in ["rpcx", "_a._b._c", "_x.y"] {
            assert!(
                MdnsOptions::from_url(
                    &RegistryUrl::parse(&format!("mdns://?service={bad}")).unwrap()
                )
                .is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            (o.interval, o.timeout),
            (Duration::from_secs(2), Duration::from_millis(500))
        );
        assert_eq!(o.instance, "box");
        assert!(
            MdnsOptions::from_url(&RegistryUrl::parse("mdns://?domain=example.com").unwrap())
                .is_err()
        );
        assert!(!MdnsOptions::default().instance.is_empty());
    }
}
