"""Lab host kinds with a real VPN tunnel (NET-010, issue 17), used by tests/test_lab_vpn.py.

This machine's kernel has no WireGuard module, so the tunnels are userspace ones: ``wg-quick up
wg0`` finds no kernel support and starts ``wireguard-go`` (a TUN device), exactly as on a real host
without the module. wireguard-go's UAPI socket lives in /run/wireguard of the host's own /run
(/var/run links there), where the scanner's ``wg show all dump`` over SSH finds it.

Lab hosts cannot reach one another through the lab's veths (the machine does not forward), so
the two tunnel hosts get an underlay of their own: a veth pair ``ul0`` between their network
namespaces (no addresses; a /32 route to the other host's lab address), made when the hosts are
prepared. The WireGuard endpoints are the hosts' lab addresses, port 51820/udp (accepted by their
rulesets).

wgpeer1, wgpeer2
  each other's peer (keys made with ``wg genkey`` when the hosts are prepared, private keys only in
  /etc/wireguard/wg0.conf mode 0600), tunnel 10.77.50.1 and .2/24, PersistentKeepalive 25:
  the handshake completes at start and stays fresh (NET-010 pass).
wglost
  wg0 with one peer whose endpoint, 198.18.0.99, is a lab address no host has (slot 0 is never
  given out), routed to the lab gateway, which drops it: the handshake never completes (NET-010
  fail, the peer's handshake age is null).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from .lab import NFT_HARDENED, ExtraKind, _write, register_kind

WG_PORT = 51820
LOST_ENDPOINT = "198.18.0.99"      # 198.18.0.0/24 is slot 0: no lab host ever has it
TUNNEL = {"wgpeer1": "10.77.50.1", "wgpeer2": "10.77.50.2", "wglost": "10.77.51.1"}
PEER = {"wgpeer1": "wgpeer2", "wgpeer2": "wgpeer1"}
NFT_WG = NFT_HARDENED.replace("tcp dport 22 accept", f"tcp dport 22 accept\n\t\tudp dport {WG_PORT} accept")

_lock = threading.Lock()
_keys: dict[tuple[str, str], tuple[str, str]] = {}


def wg_keypair(hosts_dir: Path, name: str) -> tuple[str, str]:
    """(private, public) WireGuard key of host ``name`` in the lab whose hosts live in
    ``hosts_dir``, made with ``wg genkey`` once per lab start (both peers' prepare ask for it)."""
    with _lock:
        k = (str(hosts_dir), name)
        if k not in _keys:
            priv = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
            pub = subprocess.run(["wg", "pubkey"], input=priv + "\n", capture_output=True, text=True,
                                 check=True).stdout.strip()
            _keys[k] = (priv, pub)
        return _keys[k]


def _lab_address(netns: str) -> str:
    out = subprocess.run(["ip", "-n", netns, "-4", "-o", "addr", "show", "dev", "eth0"],
                         capture_output=True, text=True, check=True).stdout.split()
    return out[out.index("inet") + 1].split("/")[0]


def _wireguard(host, dirs):
    hosts_dir = Path(dirs["host"]).parent
    priv, _ = wg_keypair(hosts_dir, host.kind)
    prefix = host.netns[: -len(host.name) - 1]
    lines = ""
    if host.kind in PEER:
        other = PEER[host.kind]
        other_ns = f"{prefix}-{other}"
        endpoint = _lab_address(other_ns)
        _, peer_pub = wg_keypair(hosts_dir, other)
        allowed = TUNNEL[other] + "/32"
        if host.kind == "wgpeer1":      # one of the two makes the underlay between them
            subprocess.run(["ip", "link", "add", "ul0", "netns", host.netns, "type", "veth", "peer",
                            "name", "ul0", "netns", other_ns], check=True, capture_output=True)
        lines += f"ip link set ul0 up\nip route add {endpoint}/32 dev ul0\n"
    else:
        endpoint = LOST_ENDPOINT
        _, peer_pub = wg_keypair(hosts_dir, "wglost-absent-peer")
        allowed = "10.77.51.2/32"
        lines += f"ip route add {LOST_ENDPOINT}/32 via {host.gateway}\n"
    _write(dirs["etc"] / "wireguard" / "wg0.conf",
           f"# hardencheck lab: {host.kind}\n[Interface]\nAddress = {TUNNEL[host.kind]}/24\n"
           f"PrivateKey = {priv}\nListenPort = {WG_PORT}\n\n"
           f"[Peer]\nPublicKey = {peer_pub}\nEndpoint = {endpoint}:{WG_PORT}\nAllowedIPs = {allowed}\n"
           "PersistentKeepalive = 25\n", 0o600)
    # no kernel module: wg-quick falls back to wireguard-go, whose socket is /run/wireguard/wg0.sock
    return lines + "wg-quick up wg0\n"   # its lines (and a failure) go to the host's sshd.log



for _name in TUNNEL:
    register_kind(_name, ExtraKind(prepare=_wireguard, nft=NFT_WG))
