#!/usr/bin/env python3
"""Builds, with dnspython (an implementation independent of fastrpc's), the mDNS messages
that Go rpcx's grandcat/zeroconf sends for the `_rpcxservices` service, and prints them as
`name hex` lines: the golden file `zeroconf_shapes.txt` next to this script.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install dnspython==2.9.2
    /tmp/v/bin/python zeroconf_shapes.py > zeroconf_shapes.txt

The shapes follow grandcat/zeroconf's server.go and client.go:
* Browse: one question `_rpcxservices.local. PTR IN`, id 0, no recursion desired.
* composeBrowsingAnswers (the answer to a browse): PTR type -> instance in the answer
  section; SRV, TXT, A in the additional section; TTL 3200 (zeroconf's default), no
  cache-flush bits; authoritative, no question.
* composeLookupAnswers (the announcement after probing, and with TTL 0 the goodbye of
  Shutdown): SRV and TXT with the cache-flush bit, PTR type -> instance, PTR
  `_services._dns-sd._udp.local.` -> type, A with the cache-flush bit.
* announceText (SetText, sent on every rpcx register/unregister): only the TXT record,
  cache-flush bit set.
The instance is the host name `gohost`, port 8972, address 127.0.0.1, and the TXT string is
what rpcx writes for a server with the services `Who` (metadata `weight=7&group=go`) and
`Other` (no metadata), as rpcx's MDNSRegisterPlugin escapes it.
"""

import json
import urllib.parse

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TYPE = "_rpcxservices.local."
INSTANCE = "gohost._rpcxservices.local."
HOST = "gohost.local."
PORT = 8972
ADDR = "127.0.0.1"
TTL = 3200
FLUSH = 0x8000  # the mDNS cache-flush bit, the top bit of the class


def rpcx_txt():
    services = [
        {"service": "Who", "meta": "weight=7&group=go", "service_address": "tcp@127.0.0.1:8972"},
        {"service": "Other", "service_address": "tcp@127.0.0.1:1"},
    ]
    # Go's json.Marshal: no spaces, `&` as \u0026 (HTML-safe); then url.QueryEscape.
    text = json.dumps(services, separators=(",", ":")).replace("&", "\\u0026")
    return urllib.parse.quote_plus(text, safe="-_.~")


def rrset(name, rdtype, ttl, flush, *rdatas):
    rrs = dns.rrset.from_text(name, ttl, dns.rdataclass.IN, rdtype, *rdatas)
    if not flush:
        return rrs
    # dnspython reads rdata text only for known classes: build it as IN, then move the
    # records to class IN | cache-flush (the wire form of the rdata does not change).
    cls = dns.rdataclass.RdataClass.make(dns.rdataclass.IN | FLUSH)
    out = dns.rrset.RRset(rrs.name, cls, rrs.rdtype)
    for rd in rrs:
        object.__setattr__(rd, "rdclass", cls)
        out.add(rd, ttl)
    return out


def response(authoritative):
    m = dns.message.Message(id=0)
    m.flags = dns.flags.QR | (dns.flags.AA if authoritative else 0)
    return m


def txt_rdata():
    return '"' + rpcx_txt() + '"'


def srv_rdata():
    return f"0 0 {PORT} {HOST}"


def browse_query():
    m = dns.message.Message(id=0)
    m.flags = 0
    m.question.append(dns.rrset.RRset(dns.name.from_text(TYPE), dns.rdataclass.IN, dns.rdatatype.PTR))
    return m


def browse_answer():
    m = response(True)
    m.answer.append(rrset(TYPE, "PTR", TTL, False, INSTANCE))
    m.additional.append(rrset(INSTANCE, "SRV", TTL, False, srv_rdata()))
    m.additional.append(rrset(INSTANCE, "TXT", TTL, False, txt_rdata()))
    m.additional.append(rrset(HOST, "A", TTL, False, ADDR))
    return m


def lookup_answer(ttl):
    m = response(False)
    m.answer.append(rrset(INSTANCE, "SRV", ttl, True, srv_rdata()))
    m.answer.append(rrset(INSTANCE, "TXT", ttl, True, txt_rdata()))
    m.answer.append(rrset(TYPE, "PTR", ttl, False, INSTANCE))
    m.answer.append(rrset("_services._dns-sd._udp.local.", "PTR", ttl, False, TYPE))
    m.answer.append(rrset(HOST, "A", ttl, True, ADDR))
    return m


def set_text():
    m = response(False)
    m.answer.append(rrset(INSTANCE, "TXT", TTL, True, txt_rdata()))
    return m


def main():
    print("# Go-zeroconf-shaped mDNS messages built by dnspython", dns.version.version)
    print("# by zeroconf_shapes.py; the TXT string is", rpcx_txt())
    for name, msg in [
        ("browse_query", browse_query()),
        ("browse_answer", browse_answer()),
        ("announcement", lookup_answer(TTL)),
        ("goodbye", lookup_answer(0)),
        ("set_text", set_text()),
    ]:
        print(name, msg.to_wire().hex())


if __name__ == "__main__":
    import dns.version

    main()
