"""net.exposure: what the scanner's network sees of the host (nmap, outside-in), held against what
the host says of itself (its listening sockets and its firewall, inside-out).

The ``nmap`` command is not a shell snippet: it is run once for all hosts by the scanner
(``hardencheck.collect.exposure``, ``scan --exposure``), and the host's part of nmap's result
arrives as this probe's ``nmap`` section (JSON). The other commands are the snippets of
``net.listening`` and ``firewall.status`` (prefixed ``fw_``), run on the host like any probe's.

Arguments (none reaches the host): ``check`` says which view a control judges — ``open`` (only
nmap's), ``listeners`` (the host's listeners and firewall against nmap's) or ``tls`` (nmap's
``ssl-enum-ciphers``); ``allowed`` the approved ``port/proto`` list; ``weak_grades`` the nmap
cipher grades counted as weak. Only TCP is judged (nmap probes TCP ports only).
"""

from __future__ import annotations

import json

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, section
from hardencheck.collect.probes.base import Arg, Probe
from hardencheck.collect.probes.firewall import FirewallStatus
from hardencheck.collect.probes.net_listening import NetListening

SCANNER_SIDE = ": scanner-side, never sent to the host: nmap runs on the scanner, hardencheck scan --exposure"
LEGACY_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
#: nmap's LIKELY_SSL_PORTS (nselib/shortport.lua, 7.93): open without a TLS result, the check is undecided
LIKELY_TLS_PORTS = frozenset({261, 271, 324, 443, 465, 563, 585, 636, 853, 989, 990, 992, 993, 994, 995, 2221,
                              2252, 2376, 3269, 3389, 4433, 4911, 5061, 5986, 6679, 6697, 8443, 8883, 9001})
CHECKS = ("open", "listeners", "tls")


def expand(spec: str) -> set[int]:
    out: set[int] = set()
    for part in (spec or "").split(","):
        if part:
            lo, _, hi = part.partition("-")
            if not 1 <= int(lo) <= int(hi or lo) <= 65535:
                raise ValueError(f"bad port range {part[:20]!r}")
            out.update(range(int(lo), int(hi or lo) + 1))
    return out


class NetExposure(Probe):
    name = "net.exposure"
    summary = "Outside-in: TCP ports nmap finds open/filtered from the scanner, TLS versions and ciphers " \
              "offered (ssl-enum-ciphers), against the host's own listeners and firewall"
    #: commands the scanner runs itself; the engine never sends them to the host
    scanner_side = ("nmap",)
    timeout = 60
    max_output_bytes = 1024 * 1024
    commands = {"nmap": SCANNER_SIDE, **NetListening.commands,
                **{f"fw_{k}": v for k, v in FirewallStatus.commands.items()}}
    tools = {**NetListening.tools, **{f"fw_{k}": v for k, v in FirewallStatus.tools.items()}}
    args = {
        "check": Arg("name", "open", doc="open | listeners | tls: which view the control judges"),
        "allowed": Arg("str_list", [], doc="approved port/proto pairs (NET-001's `allowed`)"),
        "weak_grades": Arg("str_list", ["C", "D", "E", "F"], doc="nmap cipher grades counted as weak"),
    }

    @classmethod
    def resolve_args(cls, given):
        args = super().resolve_args(given)
        if args["check"] not in CHECKS:
            raise ValueError(f"argument 'check': one of {', '.join(CHECKS)}")
        return args

    def parse(self, out, args):
        view = outside(out)
        try:
            return self._facts(out, view, args)
        except (TypeError, KeyError, AttributeError, ValueError) as e:
            raise ProbeError("unparsable", f"nmap: the host's result cannot be read ({type(e).__name__}: "
                                           f"{clean(str(e), 100)})") from None

    def _facts(self, out, view, args):
        if not view["scanned"]:
            return {"not_scanned": [view["why"]], "open": [], "scanned_from": None}
        facts = {"not_scanned": [], "address": view["address"], "scanned_from": view["source_address"],
                 "scan_type": view["scan_type"], "open": view["open"],
                 "ports_scanned": view["ports_scanned_count"], "nmap_ports": view["ports"]}
        if args["check"] == "tls":
            facts.update(tls_facts(view, set(args["weak_grades"])))
        elif args["check"] == "listeners":
            facts.update(cross_check(out, view, set(args["allowed"])))
        return facts


def outside(out) -> dict:
    """The host's part of the nmap run, or the ProbeError that says why there is none."""
    sec = out.get("nmap")
    if sec is None:
        raise ProbeError("incomplete_output", "nmap: the outside-in result did not arrive")
    if sec.exit_code == 127:
        raise ProbeError("nmap_missing", clean(sec.stderr, 300) or "nmap is not installed on the scanner")
    if sec.exit_code in (124, 137):
        raise ProbeError("timeout", clean(sec.stderr, 300) or "nmap did not finish in time")
    if sec.exit_code is None or not sec.complete:
        raise ProbeError("incomplete_output", clean(sec.stderr, 300) or "nmap: the run did not complete")
    if sec.exit_code != 0:
        reason = sec.stderr.split(":", 1)[0] if sec.exit_code == 2 else ""
        raise ProbeError(reason if reason in ("ambiguous_address", "unreachable") else "probe_failed",
                         clean(sec.stderr, 400) or f"nmap exited with {sec.exit_code}")
    try:
        view = json.loads(sec.stdout)
        if not isinstance(view, dict):
            raise ValueError("not an object")
        if not view.get("scanned"):
            return {"scanned": False, "why": clean(view.get("why") or "not scanned", 300)}
        return _measured(view)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        raise ProbeError("unparsable", f"nmap: the host's result cannot be read ({type(e).__name__}: "
                                       f"{clean(str(e), 100)})") from None


def _measured(view: dict) -> dict:
    if view.get("state") != "up":
        raise ProbeError("unreachable", f"nmap reports {view.get('address')} {view.get('state', 'down')} "
                                        f"from {view.get('source_address')}: nothing could be measured from "
                                        "outside (the SSH collection reached it; see the nmap evidence)")
    states = view.get("ports_by_state", {})
    view["open"] = [f"{p}/tcp" for p in sorted(expand(states.get("open", "")))]
    view["states"] = {p: s for s, spec in states.items() for p in expand(spec)}
    view["scanned_ports"] = expand(view.get("ports_scanned", ""))
    return view


def tls_facts(view: dict, weak: set[str]) -> dict:
    services, legacy, weak_ciphers = [], [], []
    for t in view.get("tls", []):
        port = f"{t['port']}/tcp"
        services.append(port)
        for proto, ciphers in sorted(t.get("protocols", {}).items()):
            if proto in LEGACY_PROTOCOLS:
                legacy.append(f"{port} {proto}")
            weak_ciphers += [f"{port} {proto} {name} ({grade})" for name, grade in ciphers if grade in weak]
    open_ports = {p for p, state in view["states"].items() if state == "open"}
    unverified = [f"{p}/tcp" for p in sorted(open_ports & LIKELY_TLS_PORTS) if f"{p}/tcp" not in services]
    if unverified and not legacy and not weak_ciphers:
        raise ProbeError("incomplete_output", f"{', '.join(unverified)} open on a TLS port, but nmap's "
                                              "ssl-enum-ciphers gave no result (no TLS handshake, or it ran out "
                                              "of exposure.script_timeout): the TLS versions offered are unknown")
    return {"tls_services": services, "legacy_protocols": legacy, "weak_ciphers": weak_ciphers,
            "tls_unverified": unverified,
            "tls_offered": [f"{t['port']}/tcp {', '.join(sorted(t.get('protocols', {})))}"
                            f" (least strength {t.get('least_strength')})" for t in view.get("tls", [])]}


def cross_check(out, view: dict, allowed: set[str]) -> dict:
    """Unapproved TCP listeners on non-loopback addresses, each with the three views."""
    inside = NetListening().parse({"sockets": section(out, "sockets", "ss -tulpn")}, {})
    fw_out = {k[3:]: v for k, v in out.items() if k.startswith("fw_")}
    fw = FirewallStatus().parse(fw_out, {})
    listeners: dict[int, list[str]] = {}
    for s in inside["sockets"]:
        if s["proto"] == "tcp" and not s["loopback"] and f"{s['port']}/tcp" not in allowed:
            listeners.setdefault(s["port"], []).append(s["address"] + (f" ({s['process']})" if s["process"] else ""))
    claim = (f"firewall {fw['backend'] or 'none'}: active {str(fw['active']).lower()}, inbound default deny "
             f"{str(fw['inbound_default_deny_ipv4']).lower()} (IPv4)")
    reachable, unscanned, views = [], [], []
    for port, where in sorted(listeners.items()):
        if port not in view["scanned_ports"]:
            unscanned.append(f"{port}/tcp")
            seen = "not probed (not among the scanned ports)"
        else:
            state = view["states"].get(port, "unknown")
            seen = state
            if state not in ("filtered", "closed"):
                reachable.append(f"{port}/tcp")
        views.append(f"{port}/tcp: host listens on {', '.join(sorted(set(where)))}; {claim}; "
                     f"nmap from {view['source_address']}: {seen}")
    if unscanned and not reachable:
        raise ProbeError("port_not_scanned", f"{', '.join(unscanned)} listen(s) on the host but nmap did not "
                                             "probe it (add it to exposure.ports); " + "; ".join(views))
    return {"listening_unapproved": [f"{p}/tcp" for p in sorted(listeners)], "reachable_unapproved": reachable,
            "not_probed": unscanned, "views": views, "firewall_default_deny": fw["inbound_default_deny_ipv4"],
            "firewall_backend": fw["backend"]}
