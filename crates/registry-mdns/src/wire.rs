//! mDNS messages for exactly what rpcx needs, shaped as grandcat/zeroconf (Go rpcx's mDNS
//! library) shapes them, built and read with `simple-dns`.
//!
//! * A browse is one question, `PTR <service type>` (class IN, multicast response asked, as
//!   Go's `Browse` sends it).
//! * An answer to that question carries `PTR <type> -> <instance>` in the answer section and
//!   `SRV`, `TXT`, `A` of the instance in the additional section (Go's
//!   `composeBrowsingAnswers`): Go's browser keeps an entry only when an address record for
//!   the SRV target follows the SRV in the same message.
//! * An announcement (and, with TTL 0, a goodbye) carries `SRV`, `TXT` (cache-flush), `PTR`,
//!   the `_services._dns-sd._udp.local.` enumeration `PTR` and `A` (cache-flush), all in the
//!   answer section (Go's `composeLookupAnswers`, sent on register and on shutdown).

use simple_dns::rdata::{A, PTR, RData, SRV, TXT};
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, ResourceRecord, TYPE};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The largest mDNS message read or written (RFC 6762 §17: 9000 bytes including the IP and
/// UDP headers); longer datagrams are dropped unread.
pub const MAX_PACKET: usize = 9000;

/// The DNS-SD service type enumeration name (RFC 6763 §9).
pub const SERVICES_ENUMERATION: &str = "_services._dns-sd._udp.local.";

/// The TTL of every record, Go zeroconf's default (rpcx does not change it). Browsers that
/// cache records learn of a killed server only from their own re-queries, as with Go.
pub const SERVICE_TTL: u32 = 3200;

/// Why a datagram was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Longer than [`MAX_PACKET`].
    #[error("mDNS packet of {0} bytes is over the {MAX_PACKET}-byte limit")]
    TooLarge(usize),
    /// Not a DNS message (truncated, bad label, bad pointer, ...).
    #[error("malformed mDNS packet: {0}")]
    Malformed(String),
    /// A name or TXT string that cannot be written (label over 63 bytes, ...).
    #[error("cannot encode mDNS record: {0}")]
    Encode(String),
}

/// One advertised instance, as announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The service type, `_rpcxservices.local.`.
    pub service_type: String,
    /// The full instance name, `{instance}.{service type}`.
    pub name: String,
    /// The SRV target host, `{host}.local.`.
    pub host: String,
    /// The SRV port.
    pub port: u16,
    /// The TXT strings (rpcx uses exactly one).
    pub txt: Vec<String>,
    /// The A records of `host`.
    pub addrs: Vec<Ipv4Addr>,
}

/// One question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The name asked about, without the trailing dot, lower case.
    pub name: String,
    /// The record type (RFC 1035 number; 255 for ANY).
    pub qtype: u16,
    /// The unicast-response bit (RFC 6762 §5.4, "QU").
    pub unicast: bool,
}

/// An instance as read from a response (fields Go's browser reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The full instance name, without the trailing dot, lower case.
    pub name: String,
    /// The SRV port, when an SRV record came.
    pub port: Option<u16>,
    /// The SRV target, when an SRV record came.
    pub host: Option<String>,
    /// The TXT strings, when a TXT record came.
    pub txt: Option<Vec<String>>,
    /// A records of the SRV target that followed it.
    pub addrs: Vec<Ipv4Addr>,
    /// The smallest TTL seen for the instance (0: a goodbye).
    pub ttl: u32,
}

/// A name's canonical form for comparisons: lower case, no trailing dot.
pub fn canonical(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn name(s: &str) -> Result<Name<'_>, WireError> {
    Name::new(s.trim_end_matches('.')).map_err(|e| WireError::Encode(format!("name `{s}`: {e}")))
}

fn record<'a>(
    owner: &'a str,
    ttl: u32,
    flush: bool,
    rdata: RData<'a>,
) -> Result<ResourceRecord<'a>, WireError> {
    Ok(ResourceRecord::new(name(owner)?, CLASS::IN, ttl, rdata).with_cache_flush(flush))
}

fn txt_rdata(strings: &[String]) -> Result<RData<'_>, WireError> {
    let mut txt = TXT::new();
    for s in strings {
        txt.add_string(s)
            .map_err(|e| WireError::Encode(format!("TXT string of {} bytes: {e}", s.len())))?;
    }
    Ok(RData::TXT(txt))
}

fn srv_rdata(inst: &Instance) -> Result<RData<'_>, WireError> {
    Ok(RData::SRV(SRV {
        priority: 0,
        weight: 0,
        port: inst.port,
        target: name(&inst.host)?,
    }))
}

fn finish(packet: &Packet<'_>) -> Result<Vec<u8>, WireError> {
    let bytes = packet
        .build_bytes_vec_compressed()
        .map_err(|e| WireError::Encode(e.to_string()))?;
    if bytes.len() > MAX_PACKET {
        return Err(WireError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

fn response<'a>() -> Packet<'a> {
    let mut p = Packet::new_reply(0);
    p.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
    p
}

/// A browse: one `PTR <service_type>` question (multicast response, as Go asks).
pub fn browse_query(service_type: &str) -> Result<Vec<u8>, WireError> {
    let mut p = Packet::new_query(0);
    p.remove_flags(PacketFlag::RECURSION_DESIRED);
    p.questions.push(Question::new(
        name(service_type)?,
        QTYPE::TYPE(TYPE::PTR),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    finish(&p)
}

/// The answer to a browse of the instance's type (Go's `composeBrowsingAnswers`).
pub fn browse_answer(inst: &Instance) -> Result<Vec<u8>, WireError> {
    let mut p = response();
    p.answers.push(record(
        &inst.service_type,
        SERVICE_TTL,
        false,
        RData::PTR(PTR(name(&inst.name)?)),
    )?);
    p.additional_records
        .push(record(&inst.name, SERVICE_TTL, false, srv_rdata(inst)?)?);
    p.additional_records.push(record(
        &inst.name,
        SERVICE_TTL,
        false,
        txt_rdata(&inst.txt)?,
    )?);
    for ip in &inst.addrs {
        p.additional_records.push(record(
            &inst.host,
            SERVICE_TTL,
            false,
            RData::A(A::from(*ip)),
        )?);
    }
    finish(&p)
}

/// An announcement of the instance, or its goodbye when `goodbye` (every TTL 0); also the
/// answer to a question about the instance name (Go's `composeLookupAnswers`).
pub fn announcement(inst: &Instance, goodbye: bool) -> Result<Vec<u8>, WireError> {
    let ttl = |t: u32| if goodbye { 0 } else { t };
    let mut p = response();
    p.answers.push(record(
        &inst.name,
        ttl(SERVICE_TTL),
        true,
        srv_rdata(inst)?,
    )?);
    p.answers.push(record(
        &inst.name,
        ttl(SERVICE_TTL),
        true,
        txt_rdata(&inst.txt)?,
    )?);
    p.answers.push(record(
        &inst.service_type,
        ttl(SERVICE_TTL),
        false,
        RData::PTR(PTR(name(&inst.name)?)),
    )?);
    p.answers.push(record(
        SERVICES_ENUMERATION,
        ttl(SERVICE_TTL),
        false,
        RData::PTR(PTR(name(&inst.service_type)?)),
    )?);
    for ip in &inst.addrs {
        p.answers.push(record(
            &inst.host,
            ttl(SERVICE_TTL),
            true,
            RData::A(A::from(*ip)),
        )?);
    }
    finish(&p)
}

/// The answer to `PTR _services._dns-sd._udp.local.`: the service type.
pub fn enumeration_answer(service_type: &str) -> Result<Vec<u8>, WireError> {
    let mut p = response();
    p.answers.push(record(
        SERVICES_ENUMERATION,
        SERVICE_TTL,
        false,
        RData::PTR(PTR(name(service_type)?)),
    )?);
    finish(&p)
}

/// The most TTL of a legacy unicast answer (RFC 6762 §6.7).
pub const LEGACY_TTL: u32 = 10;

/// `answer` turned into the reply to a one-shot ("legacy") querier, which sent from a port
/// other than 5353 and reads mDNS as plain DNS (RFC 6762 §6.7): the query's id, its
/// question repeated, and TTLs of at most [`LEGACY_TTL`].
pub fn legacy_reply(answer: &[u8], query: &[u8], asked: &Asked) -> Result<Vec<u8>, WireError> {
    let mut p = parse(answer)?;
    let id = parse(query)?.id();
    p.set_id(id);
    let qtype = QTYPE::try_from(asked.qtype).map_err(|e| WireError::Encode(e.to_string()))?;
    p.questions.push(Question::new(
        name(&asked.name)?,
        qtype,
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    for rr in p.answers.iter_mut().chain(p.additional_records.iter_mut()) {
        rr.ttl = rr.ttl.min(LEGACY_TTL);
        rr.cache_flush = false;
    }
    finish(&p)
}

fn parse(bytes: &[u8]) -> Result<Packet<'_>, WireError> {
    if bytes.len() > MAX_PACKET {
        return Err(WireError::TooLarge(bytes.len()));
    }
    Packet::parse(bytes).map_err(|e| WireError::Malformed(e.to_string()))
}

/// The questions of a query; empty for a response, and for a probe (a query with an
/// authority section, which Go's responder ignores as well).
pub fn parse_query(bytes: &[u8]) -> Result<Vec<Asked>, WireError> {
    let p = parse(bytes)?;
    if p.has_flags(PacketFlag::RESPONSE) || !p.name_servers.is_empty() {
        return Ok(Vec::new());
    }
    Ok(p.questions
        .iter()
        .map(|q| Asked {
            name: canonical(&q.qname.to_string()),
            qtype: q.qtype.into(),
            unicast: q.unicast_response,
        })
        .collect())
}

/// The instances of `service_type` in a response, read as Go's browser reads them: a `PTR`
/// of the type names an instance; `SRV` and `TXT` records of names under the type fill it
/// in; an `A` record is kept for instances whose SRV target it names and which came before
/// it. Queries give nothing. At most `cap` instances are returned (the rest are dropped).
pub fn parse_response(
    bytes: &[u8],
    service_type: &str,
    cap: usize,
) -> Result<Vec<Found>, WireError> {
    let p = parse(bytes)?;
    if !p.has_flags(PacketFlag::RESPONSE) {
        return Ok(Vec::new());
    }
    let ty = canonical(service_type);
    let suffix = format!(".{ty}");
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let records = p
        .answers
        .iter()
        .chain(&p.name_servers)
        .chain(&p.additional_records);
    for rr in records {
        let owner = canonical(&rr.name.to_string());
        let instance = match &rr.rdata {
            RData::PTR(PTR(target)) if owner == ty => canonical(&target.to_string()),
            RData::SRV(_) | RData::TXT(_) if owner.ends_with(&suffix) => owner.clone(),
            RData::A(a) => {
                for f in found.values_mut() {
                    if f.host.as_deref() == Some(owner.as_str()) {
                        f.addrs.push(Ipv4Addr::from(a.clone()));
                    }
                }
                continue;
            }
            _ => continue,
        };
        if !instance.ends_with(&suffix) {
            continue;
        }
        if !found.contains_key(&instance) && found.len() >= cap {
            tracing::debug!(%instance, cap, "mDNS response lists more instances than kept");
            continue;
        }
        let f = found.entry(instance.clone()).or_insert_with(|| Found {
            name: instance,
            ttl: rr.ttl,
            ..Found::default()
        });
        f.ttl = f.ttl.min(rr.ttl);
        match &rr.rdata {
            RData::SRV(srv) => {
                f.port = Some(srv.port);
                f.host = Some(canonical(&srv.target.to_string()));
            }
            RData::TXT(txt) => f.txt = Some(txt_strings(txt)),
            _ => {}
        }
    }
    Ok(found.into_values().collect())
}

/// The strings of a TXT record, as sent (`simple-dns` splits them at the first `=`).
fn txt_strings(txt: &TXT<'_>) -> Vec<String> {
    txt.iter_raw()
        .map(|(k, v)| {
            let mut s = String::from_utf8_lossy(k).into_owned();
            if let Some(v) = v {
                s.push('=');
                s.push_str(&String::from_utf8_lossy(v));
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> Instance {
        Instance {
            service_type: "_rpcxservices.local.".into(),
            name: "box-8972._rpcxservices.local.".into(),
            host: "box-8972.local.".into(),
            port: 8972,
            txt: vec!["%5B%5D".into()],
            addrs: vec![Ipv4Addr::new(127, 0, 0, 1)],
        }
    }

    #[test]
    fn browse_answer_reads_back_as_go_reads_it() {
        let bytes = browse_answer(&inst()).unwrap();
        let found = parse_response(&bytes, "_rpcxservices.local.", 16).unwrap();
        assert_eq!(
            found,
            [Found {
                name: "box-8972._rpcxservices.local".into(),
                port: Some(8972),
                host: Some("box-8972.local".into()),
                txt: Some(vec!["%5B%5D".into()]),
                addrs: vec![Ipv4Addr::new(127, 0, 0, 1)],
                ttl: SERVICE_TTL,
            }]
        );
        // Another type's browse finds nothing in it.
        assert!(
            parse_response(&bytes, "_rpcxservices._tcp.local.", 16)
                .unwrap()
                .is_empty()
        );
        let bye = announcement(&inst(), true).unwrap();
        let found = parse_response(&bye, "_rpcxservices.local.", 16).unwrap();
        assert_eq!(found[0].ttl, 0);
    }

    #[test]
    fn query_has_one_multicast_ptr_question() {
        let q = browse_query("_rpcxservices.local.").unwrap();
        assert_eq!(
            parse_query(&q).unwrap(),
            [Asked {
                name: "_rpcxservices.local".into(),
                qtype: 12,
                unicast: false,
            }]
        );
        // A response is not a query, and a query holds no instances.
        assert!(
            parse_query(&browse_answer(&inst()).unwrap())
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_response(&q, "_rpcxservices.local.", 16)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn garbage_and_truncated_packets_are_errors_not_panics() {
        let good = announcement(&inst(), false).unwrap();
        for len in 0..good.len() {
            let cut = &good[..len];
            // Every prefix either fails to parse or parses to something; none panics.
            let _ = parse_response(cut, "_rpcxservices.local.", 16);
            let _ = parse_query(cut);
        }
        assert!(parse_response(&good[..good.len() / 2], "_rpcxservices.local.", 16).is_err());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let len = (round % 300) + 1;
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = parse_response(&junk, "_rpcxservices.local.", 16);
            let _ = parse_query(&junk);
        }
        // Random bytes over a real header: flipping bytes of a real answer never panics.
        for i in 12..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xff;
            let _ = parse_response(&bad, "_rpcxservices.local.", 16);
        }
        // A compression pointer to itself must not loop.
        let mut looped = good[..12].to_vec();
        looped[4..6].copy_from_slice(&[0, 1]);
        looped.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1]);
        assert!(parse_query(&looped).is_err());
        let huge = vec![0u8; MAX_PACKET + 1];
        assert_eq!(parse_query(&huge), Err(WireError::TooLarge(MAX_PACKET + 1)));
    }

    #[test]
    fn legacy_reply_echoes_id_and_question_with_short_ttls() {
        let mut query = browse_query("_rpcxservices.local.").unwrap();
        query[0..2].copy_from_slice(&0x1234u16.to_be_bytes());
        let asked = &parse_query(&query).unwrap()[0];
        let reply = legacy_reply(&browse_answer(&inst()).unwrap(), &query, asked).unwrap();
        let p = Packet::parse(&reply).unwrap();
        assert_eq!(p.id(), 0x1234);
        assert_eq!(p.questions.len(), 1);
        assert_eq!(p.questions[0].qname.to_string(), "_rpcxservices.local");
        assert!(
            p.answers
                .iter()
                .chain(&p.additional_records)
                .all(|r| r.ttl == LEGACY_TTL)
        );
        let found = parse_response(&reply, "_rpcxservices.local.", 16).unwrap();
        assert_eq!(found[0].port, Some(8972));
    }

    #[test]
    fn instances_per_response_are_capped() {
        let mut p = response();
        let names: Vec<String> = (0..10)
            .map(|i| format!("i{i}._rpcxservices.local."))
            .collect();
        for n in &names {
            p.answers.push(
                record(
                    "_rpcxservices.local.",
                    SERVICE_TTL,
                    false,
                    RData::PTR(PTR(name(n).unwrap())),
                )
                .unwrap(),
            );
        }
        let bytes = finish(&p).unwrap();
        assert_eq!(
            parse_response(&bytes, "_rpcxservices.local.", 3)
                .unwrap()
                .len(),
            3
        );
    }
}
