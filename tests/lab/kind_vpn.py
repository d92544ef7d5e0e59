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

ovpnserver, ovpnclient (OpenVPN 2.6, certificates of a P-256 CA made with openssl when the hosts
  are prepared; server and client keys only in /etc/openvpn/<role>/<role>.key mode 0600)
  ovpnserver: /etc/openvpn/server/lab.conf (tun, 10.8.50.0/24, bound to its lab address, 1194/udp),
  started as Debian's openvpn-server@ unit starts it: status /run/openvpn-server/status-lab.log,
  version 2, named on the command line (rewritten every 5 s, the unit's 60 would make the test
  wait): the client is listed (NET-010 pass). ovpnclient: /etc/openvpn/client/lab.conf, connected,
  writes no status file: nothing on it proves the tunnel (NET-010 error, vpn_state undetermined).
ovpnalone
  an OpenVPN server of its own CA with ``status openvpn-status.log 5`` in its configuration
  (version 1) that no client ever reaches (NET-010 fail, its fresh status lists 0 clients).

All six share the machine's PID space: ``pidof openvpn`` on any of them sees all three OpenVPN
processes, of which net.vpn counts only those in the host's own network namespace.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from .lab import NFT_HARDENED, ExtraKind, _write, register_kind

WG_PORT = 51820
LOST_ENDPOINT = "198.18.0.99"      # 198.18.0.0/24 is slot 0: no lab host ever has it
TUNNEL = {"wgpeer1": "10.77.50.1", "wgpeer2": "10.77.50.2", "wglost": "10.77.51.1"}
PEER = {"wgpeer1": "wgpeer2", "wgpeer2": "wgpeer1"}
NFT_WG = NFT_HARDENED.replace("tcp dport 22 accept", f"tcp dport 22 accept\n\t\tudp dport {WG_PORT} accept")
OVPN_PORT = 1194
NFT_OVPN = NFT_HARDENED.replace("tcp dport 22 accept", f"tcp dport 22 accept\n\t\tudp dport {OVPN_PORT} accept")
#: the hosts joined by an underlay veth ``ul0`` (the first of each pair makes it)
UNDERLAY = {"wgpeer1": "wgpeer2", "ovpnserver": "ovpnclient"}

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


def _underlay(host, other: str) -> str:
    """Start-script lines routing the lab address of host ``other`` over ``ul0``, the veth pair
    between the two hosts' network namespaces (made here by the first host of the pair)."""
    prefix = host.netns[: -len(host.name) - 1]
    if host.kind in UNDERLAY:
        subprocess.run(["ip", "link", "add", "ul0", "netns", host.netns, "type", "veth", "peer",
                        "name", "ul0", "netns", f"{prefix}-{other}"], check=True, capture_output=True)
    return f"ip link set ul0 up\nip route add {_lab_address(f'{prefix}-{other}')}/32 dev ul0\n"


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
        lines += _underlay(host, other)
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



_pki: dict[tuple[str, str], dict[str, str]] = {}


def ovpn_pki(hosts_dir: Path, ca: str) -> dict[str, str]:
    """PEM texts {ca.crt, server.crt, server.key, client.crt, client.key} of the lab's OpenVPN
    certificate authority ``ca`` (P-256, 2 days), made with openssl once per lab start."""
    with _lock:
        k = (str(hosts_dir), ca)
        if k not in _pki:
            with tempfile.TemporaryDirectory() as t:
                def ssl(*argv):
                    subprocess.run(["openssl", *argv], cwd=t, check=True, capture_output=True)
                ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
                ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                    "-subj", f"/CN=hardencheck lab {ca} CA")
                for role, usage in (("server", "serverAuth"), ("client", "clientAuth")):
                    Path(t, f"{role}.ext").write_text(
                        f"keyUsage = digitalSignature, keyAgreement\nextendedKeyUsage = {usage}\n")
                    ssl("req", "-new", *ec, "-keyout", f"{role}.key", "-out", f"{role}.csr",
                        "-subj", f"/CN=lab-{ca}-{role}")
                    ssl("x509", "-req", "-in", f"{role}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                        "-CAcreateserial", "-days", "2", "-extfile", f"{role}.ext", "-out", f"{role}.crt")
                _pki[k] = {f: Path(t, f).read_text() for f in
                           ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}
        return _pki[k]


def _openvpn(host, dirs):
    hosts_dir = Path(dirs["host"]).parent
    role = "client" if host.kind == "ovpnclient" else "server"
    pki = ovpn_pki(hosts_dir, "alone" if host.kind == "ovpnalone" else "pair")
    conf_dir = dirs["etc"] / "openvpn" / role
    _write(conf_dir / "ca.crt", pki["ca.crt"])
    _write(conf_dir / f"{role}.crt", pki[f"{role}.crt"])
    _write(conf_dir / f"{role}.key", pki[f"{role}.key"], 0o600)
    common = f"ca ca.crt\ncert {role}.crt\nkey {role}.key\ndev tun\nproto udp\n"
    if host.kind == "ovpnclient":
        server = _lab_address(f"{host.netns[: -len(host.name) - 1]}-ovpnserver")
        _write(conf_dir / "lab.conf", f"client\n{common}remote {server} {OVPN_PORT}\nnobind\n"
               "remote-cert-tls server\nconnect-retry 1 5\n")
        # as Debian's openvpn-client@ unit runs it (no status file)
        return (_underlay(host, "ovpnserver")
                + "cd /etc/openvpn/client && openvpn --suppress-timestamps --nobind --config lab.conf "
                "--daemon ovpn-client-lab && cd /\n")
    server = (f"{common}local {host.address}\nport {OVPN_PORT}\ndh none\n"
              "server 10.8.50.0 255.255.255.0\ntopology subnet\nkeepalive 5 30\n")
    if host.kind == "ovpnalone":
        # its own `status` setting (status-version 1), rewritten every 5 s
        _write(conf_dir / "lab.conf", server + "status openvpn-status.log 5\n")
        return ("cd /etc/openvpn/server && openvpn --suppress-timestamps --config lab.conf "
                "--daemon ovpn-server-lab && cd /\n")
    _write(conf_dir / "lab.conf", server)
    # as Debian's openvpn-server@ unit runs it (its status file and version 2), rewritten every 5 s
    # instead of the unit's 60 so that the test does not wait a minute for the client to appear
    return (_underlay(host, "ovpnclient")
            + "mkdir -p /run/openvpn-server && cd /etc/openvpn/server && openvpn "
            "--status /run/openvpn-server/status-lab.log 5 --status-version 2 --suppress-timestamps "
            "--config lab.conf --daemon ovpn-server-lab && cd /\n")


for _name in TUNNEL:
    register_kind(_name, ExtraKind(prepare=_wireguard, nft=NFT_WG))
for _name in ("ovpnserver", "ovpnclient", "ovpnalone"):
    register_kind(_name, ExtraKind(prepare=_openvpn, nft=NFT_OVPN))
