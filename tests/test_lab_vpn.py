"""NET-010 (the VPN tunnel is up) on lab hosts with real tunnels (host state: tests/lab/kind_vpn.py),
over real SSH with the real CLI, in one scan of a lab of its own: two userspace WireGuard hosts
whose handshake completes pass, one whose peer never answers fails; an OpenVPN server whose status
file lists its connected client passes, one that no client reached fails, the client itself is an
error (no evidence of its peer). The hosts share the PID space: the OpenVPN processes the
WireGuard hosts see through pidof are not theirs. No private key and no client name reaches the
run bundle."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.results import validate_document
from tests.conftest import lab_prefix, lab_unavailable_or_skip

pytestmark = pytest.mark.lab

WG_HOSTS = ["wgpeer1", "wgpeer2", "wglost"]
OVPN_HOSTS = ["ovpnserver", "ovpnclient", "ovpnalone"]
HOSTS = WG_HOSTS + OVPN_HOSTS
STATUS = {"ovpnserver": "/run/openvpn-server/status-lab.log", "ovpnalone": "/etc/openvpn/server/openvpn-status.log"}


def _ssh(lab, host: str, command: str) -> str:
    p = subprocess.run(lab.ssh_argv(host, command), capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (host, command, p.stderr)
    return p.stdout


def _ready(lab) -> bool:
    """The tunnels have done what they do at start: wgpeer1's handshake, the OpenVPN servers'
    status files (ovpnserver's listing its client)."""
    hs = _ssh(lab, "wgpeer1", "wg show wg0 latest-handshakes").split()
    clients = _ssh(lab, "ovpnserver", f"grep -c '^CLIENT_LIST,' {STATUS['ovpnserver']} || true").strip()
    alone = _ssh(lab, "ovpnalone", f"test -f {STATUS['ovpnalone']} && echo yes || true").strip()
    return len(hs) == 2 and hs[1] != "0" and clients not in ("", "0") and alone == "yes"


@pytest.fixture(scope="module")
def vpn_scan(tmp_path_factory):
    lab_unavailable_or_skip()
    for tool in ("wg", "wireguard-go", "openvpn"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{tool} is not installed, but .ci/run installs it", pytrace=False)
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    from tests.lab import Lab

    tmp = tmp_path_factory.mktemp("vpn")
    with Lab(tmp / "lab", prefix=lab_prefix("v")) as lab:
        lab.start(HOSTS)
        # the handshake is the tunnel's own business (keepalive at start): wait until it has
        # happened, so that the scan judges a tunnel that is up (a readiness wait, not a timing)
        deadline = time.monotonic() + 90
        while not _ready(lab) and time.monotonic() < deadline:
            time.sleep(1)
        out = tmp / "reports"
        code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                     "--ssh-config", str(lab.ssh_config_path), "--control", "NET-010",
                     "--out", str(out), "--no-history", "--quiet"])
        (run,) = [p for p in out.iterdir() if p.is_dir()]
        doc = json.loads((run / "results.json").read_text(encoding="utf-8"))
        validate_document(doc)
        by = {(r["host"], r["control"]): r for r in doc["results"]}
        keys = {}
        for h in WG_HOSTS:
            conf = (Path(lab.hosts[h].dir) / "upper" / "etc" / "wireguard" / "wg0.conf").read_text()
            keys[h] = re.findall(r"(?m)^(?:PrivateKey|PublicKey) = (\S+)$", conf)
        for h in OVPN_HOSTS:
            role = "client" if h == "ovpnclient" else "server"
            pem = (Path(lab.hosts[h].dir) / "upper" / "etc" / "openvpn" / role / f"{role}.key").read_text()
            keys[h] = [line for line in pem.splitlines() if line and not line.startswith("-----")]
        yield code, run, by, keys


def verdict(by, host):
    r = by[(host, "NET-010")]
    return r["status"], r.get("actual") or {}, r.get("message") or ""


def test_wireguard_handshake_completed_passes(vpn_scan):
    _, _, by, _ = vpn_scan
    tunnel = {"wgpeer1": ("10.77.50.1", "10.77.50.2/32"), "wgpeer2": ("10.77.50.2", "10.77.50.1/32")}
    for host, (own, peer_ips) in tunnel.items():
        status, actual, msg = verdict(by, host)
        assert status == "pass", (host, msg, actual)
        assert actual["vpn_state"] == "up" and actual["configs"] == ["/etc/wireguard/wg0.conf"]
        # wg show all dump found the userspace interface (wireguard-go's socket in the host's /run)
        (peer,) = actual["peers"]
        assert peer["interface"] == "wg0" and peer["allowed_ips"] == peer_ips and peer["connected"] is True
        assert 0 <= peer["handshake_age_seconds"] <= 180
        assert own in actual["vpn_addresses"]


def test_wireguard_peer_never_answering_fails(vpn_scan):
    _, _, by, _ = vpn_scan
    status, actual, msg = verdict(by, "wglost")
    assert status == "fail" and "`vpn_up` is false" in msg, (msg, actual)
    assert actual["vpn_state"] == "down"
    (peer,) = actual["peers"]
    assert peer["interface"] == "wg0" and peer["handshake_age_seconds"] is None and peer["connected"] is False


def test_openvpn_server_status_file(vpn_scan):
    _, _, by, _ = vpn_scan
    # the openvpn-server@ unit's status file (version 2, named on the command line) lists the client
    status, actual, msg = verdict(by, "ovpnserver")
    assert status == "pass", (msg, actual)
    (st,) = actual["openvpn_status"]
    assert st["mode"] == "server" and st["clients"] == 1 and actual["vpn_state"] == "up"
    assert "10.8.50.1" in actual["vpn_addresses"]
    # a server (its own `status` setting, version 1) that no client reached: its tunnel is down
    status, actual, msg = verdict(by, "ovpnalone")
    assert status == "fail" and "`vpn_up` is false" in msg, (msg, actual)
    (st,) = actual["openvpn_status"]
    assert st["mode"] == "server" and st["clients"] == 0 and actual["vpn_state"] == "down"
    # the client is connected, but nothing on it proves that: an error, never a pass
    status, actual, msg = verdict(by, "ovpnclient")
    assert status == "error" and actual == {"vpn_state": "undetermined"}, (msg, actual)


def test_other_hosts_openvpn_is_not_this_hosts(vpn_scan):
    _, _, by, _ = vpn_scan
    # pidof on the WireGuard hosts sees the OpenVPN hosts' processes (one PID space): counted, they
    # would make wglost's state undetermined (an error) instead of down
    for host in WG_HOSTS:
        status, actual, msg = verdict(by, host)
        assert status in ("pass", "fail") and actual["openvpn_status"] == [], (host, msg, actual)


def test_no_key_leaves_the_host(vpn_scan):
    code, run, _, keys = vpn_scan
    assert code == 1      # wglost and ovpnalone fail
    private = [keys[h][0] for h in WG_HOSTS]
    assert len(private) == 3 and all(len(k) == 44 for k in private)
    assert all(keys[h] for h in OVPN_HOSTS)
    # WireGuard public keys too (only 8 characters leave), and the OpenVPN client's name
    secrets = [k for ks in keys.values() for k in ks] + ["lab-pair-client"]
    for f in run.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not any(s.encode() in data for s in secrets), f"a key or client name is in {f}"
