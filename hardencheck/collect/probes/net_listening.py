"""net.listening: TCP and UDP sockets listening on the host (``ss -tulpn``), loopback flagged.

Process names need root (``ss -p`` shows other users' processes only then); without it the
sockets are still all listed, with ``process: null``. ``exposed`` is what a control judges: the
``port/proto`` of every socket bound to a non-loopback address (wildcards included), sorted.
"""

from __future__ import annotations

import ipaddress
import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Probe

_PROC = re.compile(r'\(\("((?:[^"\\]|\\.){0,200})",')
MAX_SOCKETS = 5000


def _split_local(local: str) -> tuple[str, str, int]:
    """``addr[%iface]:port`` (``[v6]:port``, ``*:port``, old ``:::port``) -> (address, iface, port)."""
    addr, sep, port = local.rpartition(":")
    if not sep or not re.fullmatch(r"\d{1,5}|\*", port):
        raise ProbeError("unparsable", f"ss: bad local address {local[:60]!r}")
    iface = ""
    if addr.startswith("[") and "]" in addr:
        inner, _, rest = addr[1:].partition("]")
        addr, iface = inner, rest.lstrip("%")
    elif "%" in addr:
        addr, _, iface = addr.partition("%")
    if "%" in addr:  # [fe80::1%eth0]:546 form
        addr, _, iface = addr.partition("%")
    if port == "*":
        return addr, iface, 0
    value = int(port)
    if value > 65535:
        raise ProbeError("unparsable", f"ss: port out of range in {local[:60]!r}")
    return addr, iface, value


def is_loopback(addr: str, iface: str) -> bool:
    if iface == "lo":
        return True
    if addr in ("*", "", "0.0.0.0", "::"):
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class NetListening(Probe):
    name = "net.listening"
    summary = "Listening TCP/UDP sockets from `ss -tulpn`: address, port, process; loopback flagged"
    timeout = 30
    max_output_bytes = 1024 * 1024
    tools = {"sockets": ("ss",)}
    commands = {
        # no -H (iproute2 < 4.16 lacks it): the header line is skipped by the parser
        "sockets": "command -v ss >/dev/null 2>&1 || exit 127; ss -tulpn",
    }

    def parse(self, out, args):
        # a cut list could hide the one port that matters: truncated output is an error
        sec = complete_section(out, "sockets", "ss -tulpn", truncated="ss -tulpn: output was truncated")
        sockets = []
        for raw in sec.stdout.splitlines():
            line = raw.strip()
            if not line or line.startswith("Netid") or line.startswith("State "):
                continue
            words = line.split()
            if len(words) < 6 or words[0] not in ("tcp", "udp", "tcp6", "udp6"):
                raise ProbeError("unparsable", f"ss: unexpected line {line[:80]!r}")
            proto = words[0].rstrip("6")
            addr, iface, port = _split_local(words[4])
            rest = " ".join(words[6:])
            names = [clean(m.group(1).replace('\\"', '"'), 64) for m in _PROC.finditer(rest)]
            names = list(dict.fromkeys(names))
            sockets.append({
                "proto": proto,
                "address": clean(addr, 64) or "*",
                "interface": clean(iface, 32) or None,
                "port": port,
                "process": names[0] if names else None,
                "processes": names,
                "loopback": is_loopback(addr, iface),
            })
            if len(sockets) > MAX_SOCKETS:
                raise ProbeError("unparsable", "ss: implausibly many listening sockets")
        exposed = sorted({f"{s['port']}/{s['proto']}" for s in sockets if not s["loopback"]},
                         key=lambda p: (int(p.split("/")[0]), p))
        detail = sorted({f"{s['port']}/{s['proto']} {s['address']}"
                         + (f" ({s['process']})" if s["process"] else "")
                         for s in sockets if not s["loopback"]})
        return {
            "sockets": sockets,
            "exposed": exposed,
            "exposed_detail": detail,
            "count": len(sockets),
            "process_names_seen": any(s["process"] for s in sockets),
        }
