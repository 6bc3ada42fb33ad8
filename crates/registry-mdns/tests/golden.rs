//! Golden test against messages shaped as Go rpcx's grandcat/zeroconf sends them, built by an
//! independent implementation (dnspython, `tests/golden/zeroconf_shapes.py`, whose output is
//! `tests/golden/zeroconf_shapes.txt`): our reader takes each of Go's messages as Go's
//! browser would, and what we send holds the same records (names, types, classes with the
//! cache-flush bit, TTLs, data) in the same sections as Go's.

use fastrpc_registry_mdns::wire::{
    Asked, Instance, announcement, browse_answer, browse_query, parse_query, parse_response,
};
use fastrpc_registry_mdns::{ServiceMeta, parse_txt};
use simple_dns::Packet;
use std::net::Ipv4Addr;

const GOLDEN: &str = include_str!("golden/zeroconf_shapes.txt");
const TYPE: &str = "_rpcxservices.local.";

fn golden(name: &str) -> Vec<u8> {
    let hex = GOLDEN
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no `{name}` in the golden file"));
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn go_txt() -> String {
    GOLDEN
        .lines()
        .find_map(|l| l.strip_prefix("# by zeroconf_shapes.py; the TXT string is "))
        .unwrap()
        .to_owned()
}

/// The instance Go's `Register("gohost", "_rpcxservices", "local.", 8972, [txt], nil)` on a
/// host whose address is 127.0.0.1 announces.
fn go_instance() -> Instance {
    Instance {
        service_type: TYPE.into(),
        name: "gohost._rpcxservices.local.".into(),
        host: "gohost.local.".into(),
        port: 8972,
        txt: vec![go_txt()],
        addrs: vec![Ipv4Addr::new(127, 0, 0, 1)],
    }
}

/// Records of each section, compared by value (compression is each encoder's choice).
fn sections(bytes: &[u8]) -> Vec<Vec<String>> {
    let p = Packet::parse(bytes).unwrap();
    let show = |rrs: &[simple_dns::ResourceRecord<'_>]| {
        rrs.iter()
            .map(|r| {
                format!(
                    "{} {:?} flush={} ttl={} {:?}",
                    r.name.to_string().to_ascii_lowercase(),
                    r.class,
                    r.cache_flush,
                    r.ttl,
                    r.rdata
                )
            })
            .collect::<Vec<_>>()
    };
    let questions = p
        .questions
        .iter()
        .map(|q| {
            format!(
                "{} {:?} {:?} qu={}",
                q.qname, q.qtype, q.qclass, q.unicast_response
            )
        })
        .collect();
    vec![
        questions,
        show(&p.answers),
        show(&p.name_servers),
        show(&p.additional_records),
    ]
}

#[test]
fn go_messages_read_as_go_reads_them() {
    assert_eq!(
        parse_query(&golden("browse_query")).unwrap(),
        [Asked {
            name: "_rpcxservices.local".into(),
            qtype: 12,
            unicast: false,
        }]
    );
    for (msg, ttl) in [
        ("browse_answer", 3200),
        ("announcement", 3200),
        ("goodbye", 0),
    ] {
        let found = parse_response(&golden(msg), TYPE, 16).unwrap();
        assert_eq!(found.len(), 1, "{msg}");
        let f = &found[0];
        assert_eq!(f.name, "gohost._rpcxservices.local", "{msg}");
        assert_eq!(
            (f.port, f.host.as_deref()),
            (Some(8972), Some("gohost.local"))
        );
        assert_eq!(f.addrs, [Ipv4Addr::new(127, 0, 0, 1)], "{msg}");
        assert_eq!(f.ttl, ttl, "{msg}");
        let txt = f.txt.as_ref().unwrap();
        assert_eq!(txt, &[go_txt()], "{msg}");
        assert_eq!(
            parse_txt(&txt[0]).unwrap(),
            [
                ServiceMeta {
                    service: "Who".into(),
                    meta: "weight=7&group=go".into(),
                    service_address: "tcp@127.0.0.1:8972".into(),
                },
                ServiceMeta {
                    service: "Other".into(),
                    meta: String::new(),
                    service_address: "tcp@127.0.0.1:1".into(),
                },
            ]
        );
    }
    // SetText's re-announcement: the TXT record alone updates the instance.
    let found = parse_response(&golden("set_text"), TYPE, 16).unwrap();
    assert_eq!(found[0].txt.as_deref(), Some(&[go_txt()][..]));
    // The `_tcp` form does not see Go's type.
    assert!(
        parse_response(&golden("browse_answer"), "_rpcxservices._tcp.local.", 16)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn our_messages_hold_go_records() {
    assert_eq!(
        sections(&browse_query(TYPE).unwrap()),
        sections(&golden("browse_query"))
    );
    assert_eq!(
        sections(&browse_answer(&go_instance()).unwrap()),
        sections(&golden("browse_answer"))
    );
    assert_eq!(
        sections(&announcement(&go_instance(), false).unwrap()),
        sections(&golden("announcement"))
    );
    assert_eq!(
        sections(&announcement(&go_instance(), true).unwrap()),
        sections(&golden("goodbye"))
    );
    // Both are responses with no question, as Go's are.
    for bytes in [
        browse_answer(&go_instance()).unwrap(),
        announcement(&go_instance(), false).unwrap(),
    ] {
        assert!(
            Packet::parse(&bytes)
                .unwrap()
                .has_flags(simple_dns::PacketFlag::RESPONSE)
        );
    }
}
