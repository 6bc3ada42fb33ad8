#!/usr/bin/env python3
"""A python-zeroconf peer on the loopback link, for the interop test in `mdns_netns.rs`.

    pyzeroconf_peer.py SECONDS PORT TXT INSTANCE

registers `pyhost._rpcxservices.local.` (Go rpcx's type, no `_tcp`) on 127.0.0.1:PORT with the
single TXT string TXT, resolves `INSTANCE._rpcxservices.local.` (SRV, TXT and address
questions, as zeroconf's lookup asks them), prints `found NAME PORT TXT` once it has, and
stays registered for SECONDS. python-zeroconf registers a type without `_tcp` only with
`strict=False`, and its ServiceBrowser reports nothing for such a type (0.154.0), so the
instance is looked up by name. Needs `pip install zeroconf` (tested with 0.154.0).
"""

import socket
import sys
import time

from zeroconf import ServiceInfo, Zeroconf

TYPE = "_rpcxservices.local."


def main():
    seconds, port, txt, instance = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    zc = Zeroconf(interfaces=["127.0.0.1"])
    info = ServiceInfo(
        TYPE,
        "pyhost." + TYPE,
        addresses=[socket.inet_aton("127.0.0.1")],
        port=port,
        properties={txt.encode(): None},
        server="pyhost.local.",
    )
    zc.register_service(info, strict=False)
    print("registered", flush=True)
    deadline = time.monotonic() + seconds
    name = instance + "." + TYPE
    while time.monotonic() < deadline:
        got = zc.get_service_info(TYPE, name, timeout=1000)
        if got is not None and got.text:
            first = got.text[1 : 1 + got.text[0]].decode()
            print("found", name, got.port, first, flush=True)
            break
    while time.monotonic() < deadline:
        time.sleep(0.1)
    zc.unregister_service(info)
    zc.close()


if __name__ == "__main__":
    main()
