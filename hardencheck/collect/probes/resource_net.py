"""resource.port: the listening sockets on one port (``ss -l``), with address and process.

Facts: ``listening``, ``addresses`` (sorted, ``*``/``0.0.0.0``/``::`` for wildcards),
``processes`` (names; need root), ``sockets`` (address, interface, process each),
``loopback_only`` (every socket on a loopback address; null when nothing listens) and ``exposed``
(some socket reachable from outside: a wildcard or non-loopback address).
"""

from __future__ import annotations

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean
from hardencheck.collect.probes.net_listening import _PROC, _split_local, is_loopback
from hardencheck.collect.probes.resource_base import ResourceProbe, TextArg, item_loop
from hardencheck.collect.probes.base import Arg

PORT_BODY = (
    "if ! command -v ss >/dev/null 2>&1; then echo 'error command_missing ss is not installed'; else "
    "case $pr in udp) f=-Hlunp ;; *) f=-Hltnp ;; esac; "
    "echo 'ss'; ss $f \"sport = :$po\" 2>&1 | head -n 500 | cut -c 1-1000 | sed 's/^/| /'; echo 'done yes'; fi"
)


class ResourcePort(ResourceProbe):
    name = "resource.port"
    summary = "Listening sockets on one port (ss): listening, addresses, processes, loopback only"
    timeout = 30
    required_args = ("port",)
    tools = {"items": ("ss",)}
    args = {
        "port": Arg("int", remote=True, doc="the port number"),
        "protocol": TextArg("choice", default="tcp", remote=True, choices=("tcp", "udp"), doc="tcp or udp"),
    }
    commands = {"items": item_loop(("po", "pr"), PORT_BODY)}

    @classmethod
    def resolve_args(cls, given):
        out = super().resolve_args(given)
        if out["port"] is not None and not 1 <= out["port"] <= 65535:
            raise ValueError("argument 'port': between 1 and 65535")
        return out

    def parse(self, out, args):
        item = self.item(out, args)
        if item.get("done") != "yes":
            raise ProbeError("incomplete_output", f"{self.name}: ss did not finish")
        sockets = []
        for line in item.data.get("ss", []):
            words = line.split()
            if len(words) < 5 or words[0] not in ("LISTEN", "UNCONN"):
                raise ProbeError("unparsable", f"ss: unexpected line {clean(line, 80)!r}")
            addr, iface, port = _split_local(words[3])
            if port != args.get("port"):
                raise ProbeError("unparsable", f"ss: a socket on another port ({port})")
            names = list(dict.fromkeys(clean(m.group(1).replace('\\"', '"'), 64)
                                       for m in _PROC.finditer(" ".join(words[5:]))))
            sockets.append({"address": clean(addr, 64) or "*", "interface": clean(iface, 32) or None,
                            "process": names[0] if names else None, "loopback": is_loopback(addr, iface)})
        return {
            "port": args.get("port"), "protocol": args.get("protocol"), "listening": bool(sockets),
            "addresses": sorted({s["address"] for s in sockets}),
            "processes": sorted({s["process"] for s in sockets if s["process"]}),
            "sockets": sockets,
            "loopback_only": all(s["loopback"] for s in sockets) if sockets else None,
            "exposed": any(not s["loopback"] for s in sockets),
        }
