"""nmap's XML output (``-oX -``) as per-address port states, for the outside-in exposure scan.

python-nmap (``nmap.PortScanner.analyse_nmap_xml_scan``) reads the hosts, their status and the
ports nmap lists one by one; the ports nmap folds into ``<extraports>`` (typically the hundreds of
filtered ports of a default-deny host) and the structured tables of ``ssl-enum-ciphers`` it does
not keep, so they are read here from the same XML. Nothing a service sent is interpreted: service
names come from nmap's own table (no ``-sV``), cipher names and grades from nmap's script, and
every string is cut to printable characters and bounded before it becomes a fact.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

_RANGE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TLS_VERSIONS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
MAX_PORTS_LISTED = 200        # explicit port entries kept per host (open and other states)


class XmlError(ValueError):
    """nmap's output is not the XML document expected."""


def clean(text: Any, limit: int = 120) -> str:
    """Printable and bounded: what a host or service sent never carries control characters."""
    s = _CONTROL.sub("?", str(text))
    return s if len(s) <= limit else s[:limit] + "…"


def parse_ports(spec: str) -> set[int]:
    """``"1,3-4,22"`` -> {1, 3, 4, 22}; ValueError for anything else (ports 1..65535)."""
    out: set[int] = set()
    for part in (p.strip() for p in str(spec).split(",")):
        if not part:
            continue
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"not a port or port range: {part[:40]!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if not (1 <= lo <= hi <= 65535):
            raise ValueError(f"port range out of 1-65535: {part!r}")
        out.update(range(lo, hi + 1))
    return out


def port_ranges(ports) -> str:
    """{1, 3, 4, 22} -> ``"1,3-4,22"`` (sorted, compact)."""
    out, run = [], []
    for p in sorted(set(ports)):
        if run and p == run[-1] + 1:
            run.append(p)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [p]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def scanned_ports(root: ET.Element) -> set[int]:
    """The TCP ports nmap says it scanned (``<scaninfo services=...>``)."""
    ports: set[int] = set()
    for info in root.findall("scaninfo"):
        if info.get("protocol") == "tcp":
            ports |= parse_ports(info.get("services", ""))
    return ports


def parse_root(xml: str) -> ET.Element:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise XmlError(f"nmap's XML output cannot be read: {e}") from None
    if root.tag != "nmaprun":
        raise XmlError(f"not nmap XML output (root element {root.tag[:40]!r})")
    return root


def hosts(root: ET.Element) -> dict[str, dict]:
    """address -> {state, reason, open/filtered/closed port ranges, ports, tls} for every host in
    the output (nmap lists hosts it found down only with -v; absent means down)."""
    out: dict[str, dict] = {}
    for h in root.findall("host"):
        addr = next((a.get("addr") for a in h.findall("address") if a.get("addrtype") in ("ipv4", "ipv6")), None)
        if not addr:
            continue
        status = h.find("status")
        states: dict[str, set[int]] = {}
        listed, tls = [], []
        ports = h.find("ports")
        for extra in (ports.findall("extraports") if ports is not None else []):
            state = extra.get("state", "unknown")
            for reason in extra.findall("extrareasons"):
                if reason.get("proto", "tcp") == "tcp" and reason.get("ports"):
                    states.setdefault(state, set()).update(parse_ports(reason.get("ports")))
        for p in (ports.findall("port") if ports is not None else []):
            if p.get("protocol") != "tcp":
                continue
            st = p.find("state")
            state = st.get("state", "unknown") if st is not None else "unknown"
            number = int(p.get("portid", "0"))
            states.setdefault(state, set()).add(number)
            service = p.find("service")
            if len(listed) < MAX_PORTS_LISTED:
                listed.append({"port": number, "state": clean(state, 20),
                               "reason": clean(st.get("reason", ""), 30) if st is not None else "",
                               "service": clean(service.get("name", ""), 40) if service is not None else ""})
            for script in p.findall("script"):
                if script.get("id") == "ssl-enum-ciphers":
                    tls.append({"port": number, **ssl_enum_ciphers(script)})
        out[addr] = {"state": status.get("state", "unknown") if status is not None else "unknown",
                     "reason": clean(status.get("reason", ""), 40) if status is not None else "",
                     "ports_by_state": {s: port_ranges(v) for s, v in sorted(states.items())},
                     "ports": listed, "tls": tls}
    return out


def ssl_enum_ciphers(script: ET.Element) -> dict:
    """The structured result of nmap's ``ssl-enum-ciphers``: per protocol version the ciphers
    with nmap's grade (A strongest .. F), and the least strength."""
    protocols: dict[str, list[list[str]]] = {}
    least = None
    for child in script:
        key = child.get("key", "")
        if child.tag == "elem" and key == "least strength":
            least = clean(child.text or "", 4)
        if child.tag != "table" or key not in TLS_VERSIONS:
            continue
        ciphers = []
        table = next((t for t in child.findall("table") if t.get("key") == "ciphers"), None)
        for c in (table.findall("table") if table is not None else [])[:200]:
            elems = {e.get("key"): (e.text or "") for e in c.findall("elem")}
            ciphers.append([clean(elems.get("name", "?"), 80), clean(elems.get("strength", "?"), 4)])
        protocols[key] = ciphers
    return {"protocols": protocols, "least_strength": least}


def run_info(root: ET.Element) -> dict:
    """Version, the command line nmap recorded, start and end (epoch seconds), exit status."""
    finished = root.find("runstats/finished")
    return {"version": clean(root.get("version", ""), 20), "args": clean(root.get("args", ""), 4000),
            "start": int(root.get("start", "0") or 0),
            "end": int(finished.get("time", "0") or 0) if finished is not None else None,
            "exit": clean(finished.get("exit", ""), 20) if finished is not None else None,
            "summary": clean(finished.get("summary", ""), 300) if finished is not None else None}
