//! One mDNS browse: asks `PTR <service type>` on the link and collects the instances that
//! answer for a while, as Go rpcx's discovery does with a fresh zeroconf resolver each time.

use crate::socket::{Link, recv_buffer};
use crate::wire::{Found, browse_query, parse_response};
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;
use tokio::time::Instant;

/// The most instances one browse keeps (the rest are dropped with a debug line).
pub const MAX_INSTANCES: usize = 1024;

/// The most bytes of names, TXT strings and addresses one browse keeps.
pub const MAX_BROWSE_BYTES: usize = 1 << 20;

fn weight(f: &Found) -> usize {
    f.name.len()
        + f.host.as_ref().map_or(0, String::len)
        + f.txt
            .as_ref()
            .map_or(0, |t| t.iter().map(String::len).sum::<usize>())
        + f.addrs.len() * 4
}

/// What one browse kept, bounded by [`MAX_INSTANCES`] and [`MAX_BROWSE_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct Collected {
    by_name: BTreeMap<String, Found>,
    bytes: usize,
}

impl Collected {
    /// Merges one response's instances: a goodbye (TTL 0) removes, anything else adds or
    /// fills in fields; beyond the budgets new instances are dropped.
    pub(crate) fn merge(&mut self, found: Vec<Found>) {
        for f in found {
            if let Some(old) = self.by_name.remove(&f.name) {
                self.bytes -= weight(&old);
                if f.ttl == 0 {
                    continue;
                }
                let merged = Found {
                    port: f.port.or(old.port),
                    host: f.host.or(old.host),
                    txt: f.txt.or(old.txt),
                    addrs: if f.addrs.is_empty() {
                        old.addrs
                    } else {
                        f.addrs
                    },
                    ..f
                };
                self.insert(merged);
            } else if f.ttl > 0 {
                self.insert(f);
            }
        }
    }

    fn insert(&mut self, f: Found) {
        let w = weight(&f);
        if self.by_name.len() >= MAX_INSTANCES || self.bytes + w > MAX_BROWSE_BYTES {
            tracing::debug!(instance = %f.name, "mDNS browse budget reached; instance dropped");
            return;
        }
        self.bytes += w;
        self.by_name.insert(f.name.clone(), f);
    }

    /// The instances kept, by name.
    pub(crate) fn into_instances(self) -> Vec<Found> {
        self.by_name.into_values().collect()
    }
}

/// Browses `service_type` for `timeout`: sends the question at once and again halfway (one
/// lost datagram does not hide every server), and collects every answer heard meanwhile.
pub(crate) async fn browse(
    service_type: &str,
    loopback: bool,
    timeout: Duration,
) -> io::Result<Vec<Found>> {
    let link = Link::open(loopback)?;
    let query = browse_query(service_type).map_err(io::Error::other)?;
    let start = Instant::now();
    let deadline = start + timeout;
    let mut resend = Some(start + timeout / 2);
    link.multicast(&query).await?;
    let mut collected = Collected::default();
    let mut buf = recv_buffer();
    loop {
        let until = resend.map_or(deadline, |r| r.min(deadline));
        match tokio::time::timeout_at(until, link.recv(&mut buf)).await {
            Err(_) if until == deadline => break,
            Err(_) => {
                resend = None;
                if let Err(e) = link.multicast(&query).await {
                    tracing::debug!(error = %e, "mDNS browse re-send failed");
                }
            }
            Ok(Ok(Some((packet, from)))) => {
                match parse_response(packet, service_type, MAX_INSTANCES) {
                    Ok(found) => collected.merge(found),
                    Err(e) => tracing::debug!(%from, error = %e, "mDNS packet dropped"),
                }
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "mDNS receive failed");
                tokio::time::sleep_until(until.min(Instant::now() + Duration::from_millis(50)))
                    .await;
            }
        }
    }
    Ok(collected.into_instances())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str, ttl: u32, txt: Option<&str>) -> Found {
        Found {
            name: name.into(),
            txt: txt.map(|t| vec![t.to_owned()]),
            ttl,
            ..Found::default()
        }
    }

    #[test]
    fn merge_fills_in_removes_on_goodbye_and_stays_in_budget() {
        let mut c = Collected::default();
        c.merge(vec![found("a", 120, None)]);
        c.merge(vec![found("a", 120, Some("x"))]);
        c.merge(vec![found("b", 120, Some("y"))]);
        c.merge(vec![found("b", 0, None)]);
        assert_eq!(c.bytes, "a".len() + "x".len());
        let got = c.into_instances();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].txt.as_deref(), Some(&["x".to_owned()][..]));

        let mut c = Collected::default();
        let big = "t".repeat(250);
        c.merge(
            (0..MAX_INSTANCES + 10)
                .map(|i| found(&format!("i{i}"), 120, Some(&big)))
                .collect(),
        );
        assert!(c.by_name.len() <= MAX_INSTANCES);
        assert!(c.bytes <= MAX_BROWSE_BYTES);
        let mut c = Collected::default();
        let huge = "t".repeat(4000);
        c.merge(
            (0..1000)
                .map(|i| found(&format!("i{i}"), 120, Some(&huge)))
                .collect(),
        );
        assert!(c.bytes <= MAX_BROWSE_BYTES);
        assert!(c.by_name.len() < 1000);
    }
}
