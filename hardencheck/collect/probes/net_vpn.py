"""net.vpn: whether the host's VPN is up (WireGuard peers with a recent handshake, an OpenVPN tunnel
device up with openvpn running) and where the internal services listen.

Needs root (``wg show`` reads keys through netlink). ``wg show all dump`` prints private and
preshared keys: the host's awk keeps only interface name, listen port, a peer's public key (first
8 characters), its allowed IPs and latest handshake. ``configured``: a WireGuard or OpenVPN
configuration file exists (/etc/wireguard/*.conf, /etc/openvpn/**/*.conf) or a tunnel device does.

``internal_ports`` (parse-only, ``5432/tcp``): services that must listen only on loopback, a VPN
interface's address or a private network (``private_networks``: RFC 1918, 100.64.0.0/10, fc00::/7
by default); a wildcard listener (0.0.0.0, ::) listens on every address and is exposed.
``max_handshake_age`` (parse-only, seconds): how old a WireGuard handshake may be for the peer to
count as connected (WireGuard renews it every two minutes while traffic flows). OpenVPN counts as up
only with a server status file (``status`` in its configuration, or the one Debian's
openvpn-server@/openvpn@ units name on the command line: /run/openvpn-server/status-*.log,
/run/openvpn/*.status) rewritten within 5 minutes that lists connected clients (only their number
leaves the host); such a file without clients is a server whose tunnels are down. More running
OpenVPN processes than fresh server status files (a client: its tun device exists before the peer
answers) make ``vpn_state`` ``undetermined``. Only OpenVPN processes in the host's own network
namespace count (``pidof`` also sees containers' processes); the probe reads their namespace
through /proc, which needs root (one whose namespace it cannot read counts).
"""

from __future__ import annotations

import ipaddress
import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch
from hardencheck.collect.probes.base import Arg, Probe

OPENVPN_STATUS_AGE = 300   # seconds: openvpn rewrites its status file every 60 s by default
PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
_STATE = (
    "printf 'now %s\\n' \"$(date +%s)\"; "
    "for f in /etc/wireguard/*.conf /etc/openvpn/*.conf /etc/openvpn/*/*.conf; do "
    "[ -f \"$f\" ] && printf 'C %s\\n' \"$f\"; done; "
    "if command -v wg >/dev/null 2>&1; then d=$(wg show all dump 2>&1) || "
    "{ rc=$?; printf '%s\\n' \"$d\" | grep -av '=' | head -n 3 >&2; exit $rc; }; "
    "printf '%s\\n' \"$d\" | awk -F '\\t' "
    "'NF == 5 { print \"W\", $1, $4 } NF == 9 { print \"P\", $1, substr($2, 1, 8), $5, $6 }'; "
    "else echo 'N wg'; fi; "
    # openvpn processes of this network namespace only: pidof sees every PID namespace below the
    # host's, e.g. containers' tunnels (a process whose namespace cannot be read counts)
    "self=$(readlink /proc/$$/ns/net 2>/dev/null); n=0; for p in $(pidof openvpn 2>/dev/null); do "
    "q=$(readlink /proc/$p/ns/net 2>/dev/null); "
    "if [ -z \"$self\" ] || [ -z \"$q\" ] || [ \"$q\" = \"$self\" ]; then n=$((n + 1)); fi; done; "
    "if [ \"$n\" -gt 0 ]; then echo \"O $n\"; fi; "
    # status files: each configuration's `status`, and those Debian's units pass on the command
    # line (openvpn-server@: /run/openvpn-server/status-NAME.log, openvpn@: /run/openvpn/NAME.status)
    "{ for c in /etc/openvpn/*.conf /etc/openvpn/*/*.conf; do [ -f \"$c\" ] || continue; "
    "s=$(sed -n -E 's/^[[:space:]]*status[[:space:]]+([^[:space:]]+).*/\\1/p' \"$c\" | head -n 1); "
    "[ -n \"$s\" ] || continue; case $s in /*) ;; *) s=${c%/*}/$s;; esac; printf '%s\\n' \"$s\"; done; "
    "for s in /run/openvpn-server/status-*.log /run/openvpn/*.status; do printf '%s\\n' \"$s\"; done; } | "
    "sort -u | while IFS= read -r s; do [ -f \"$s\" ] || continue; "
    "printf 'S %s %s %s\\n' \"$(stat -c %Y \"$s\")\" "
    "\"$(grep -acE '^CLIENT_LIST[,[:blank:]]|^[^,]+,[0-9a-fA-F.:]+:[0-9]+,[0-9]+,[0-9]+,' \"$s\")\" "
    "\"$(grep -aq 'OpenVPN STATISTICS' \"$s\" && echo client || echo server)\"; done; "
    "ip -o link show | awk '{ sub(/:$/, \"\", $2); sub(/@.*/, \"\", $2); "
    "if ($0 ~ /link\\/none/ || $2 ~ /^(tun|tap|wg)/) print \"T\", $2, ($3 ~ /[<,]UP[,>]/ ? \"up\" : \"down\") }'; "
    "ip -o addr show | awk '{ print \"A\", $2, $4 }'; "
    "ss -Htln | awk '{ print \"L\", $4 }'"
)


class NetVpn(Probe):
    name = "net.vpn"
    summary = ("VPN state (WireGuard handshake age, OpenVPN tunnel) and whether internal services listen "
               "only on loopback, VPN or private addresses (no keys leave the host)")
    timeout = 30
    args = {
        "internal_ports": Arg("str_list", default=[], doc="ports of internal services, e.g. 5432/tcp"),
        "private_networks": Arg("str_list", default=PRIVATE, doc="networks that count as internal"),
        "max_handshake_age": Arg("int", default=180, doc="seconds a WireGuard handshake may be old"),
    }
    tools = {"state": ("wg", "pidof", "ip", "ss")}
    commands = {"state": _STATE}

    def parse(self, out, args):
        sec = complete_section(out, "state", "VPN state", ran="wg show all dump / ip / ss")
        lines = sec.stdout.splitlines()
        if not lines or not lines[0].startswith("now "):
            raise ProbeError("unparsable", "VPN state: no clock line")
        now = epoch(lines[0][4:], "host clock")
        max_age = args.get("max_handshake_age") or 180
        configs, wg_ifaces, peers, tunnels, addrs, listeners = [], [], [], {}, {}, []
        wg_installed, openvpn_processes, statuses = True, 0, []
        for line in lines[1:]:
            w = line.split()
            if not w:
                continue
            kind = w[0]
            if kind == "C" and len(w) >= 2:
                configs.append(clean(line[2:], 200))
            elif kind == "N" and w[1:] == ["wg"]:
                wg_installed = False
            elif kind == "W" and len(w) == 3:
                wg_ifaces.append(clean(w[1], 20))
            elif kind == "P" and len(w) == 5 and re.fullmatch(r"[0-9]{1,12}", w[4]):
                hs = int(w[4])
                age = now - hs if hs else None
                peers.append({"interface": clean(w[1], 20), "peer": clean(w[2], 8) + "…",
                              "allowed_ips": clean(w[3], 200), "handshake_age_seconds": age,
                              "connected": age is not None and age <= max_age})
            elif kind == "O" and len(w) == 2 and re.fullmatch(r"[0-9]{1,6}", w[1]):
                openvpn_processes = int(w[1])
            elif kind == "S" and len(w) == 4 and w[3] in ("client", "server") and w[2].isdigit():
                statuses.append({"age_seconds": now - epoch(w[1], "OpenVPN status time"),
                                 "clients": int(w[2]), "mode": w[3]})
            elif kind == "T" and len(w) == 3:
                tunnels[clean(w[1], 20)] = w[2] == "up"
            elif kind == "A" and len(w) == 3:
                addrs.setdefault(clean(w[1], 20), []).append(w[2].split("/")[0])
            elif kind == "L" and len(w) == 2:
                listeners.append(w[1])
            else:
                raise ProbeError("unparsable", f"VPN state: unexpected line {clean(line, 60)!r}")
        vpn_ifaces = set(wg_ifaces) | set(tunnels)
        # OpenVPN: only a server's fresh status file with connected clients proves a tunnel; a fresh
        # one without clients proves that server's tunnels down. A running OpenVPN without such a
        # file (a client: a tun device exists even before its peer answers) is undetermined
        openvpn_running = openvpn_processes > 0
        fresh = [s for s in statuses if s["mode"] == "server" and s["age_seconds"] <= OPENVPN_STATUS_AGE]
        openvpn_up = openvpn_running and any(s["clients"] > 0 for s in fresh)
        unaccounted = openvpn_processes > len(fresh)
        vpn_addrs = {a for i in vpn_ifaces for a in addrs.get(i, [])}
        exposed = _exposed(listeners, list(args.get("internal_ports") or []), vpn_addrs,
                           list(args.get("private_networks") or PRIVATE))
        connected = [p for p in peers if p["connected"]]
        return {
            "configured": bool(configs or vpn_ifaces),
            "configs": configs[:50],
            "wireguard_installed": wg_installed,
            "wireguard_interfaces": sorted(wg_ifaces),
            "peers": peers[:100],
            "connected_peers": len(connected),
            "openvpn_up": openvpn_up,
            "openvpn_running": openvpn_running,
            "openvpn_status": statuses[:20],
            "vpn_up": bool(connected) or openvpn_up,
            "vpn_state": ("up" if connected or openvpn_up else "undetermined" if unaccounted else "down"),
            "vpn_addresses": sorted(vpn_addrs),
            "internal_ports_given": bool(args.get("internal_ports")),
            "exposed_internal": exposed,
        }


def _exposed(listeners: list[str], ports: list[str], vpn_addrs: set[str], networks: list[str]) -> list[str]:
    nets = []
    for n in networks:
        try:
            nets.append(ipaddress.ip_network(n, strict=False))
        except ValueError:
            raise ProbeError("unparsable", f"private_networks: {n[:40]!r} is not a network") from None
    wanted = {p.split("/")[0] for p in ports if p.endswith("/tcp")}
    out = []
    for local in listeners:
        addr, _, port = local.rpartition(":")
        if port not in wanted:
            continue
        a = addr.strip("[]").split("%")[0]
        if a in ("*", "0.0.0.0", "::"):
            out.append(f"{port}/tcp on {addr} (every address)")
            continue
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            raise ProbeError("unparsable", f"ss: odd listening address {clean(local, 60)!r}") from None
        if ip.is_loopback or a in vpn_addrs or any(ip in n for n in nets if n.version == ip.version):
            continue
        out.append(f"{port}/tcp on {addr}")
    return sorted(set(out))
