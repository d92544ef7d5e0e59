"""NET-010 (the VPN tunnel is up) on lab hosts with real tunnels (host state: tests/lab/kind_vpn.py),
over real SSH with the real CLI, in one scan of a lab of its own: two userspace WireGuard hosts
whose handshake completes pass, one whose peer never answers fails; the WireGuard private keys
never reach the run bundle."""

from __future__ import annotations

import json
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
HOSTS = WG_HOSTS


def _handshake(lab, host: str) -> int:
    p = subprocess.run(lab.ssh_argv(host, "wg", "show", "wg0", "latest-handshakes"), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return max((int(line.split()[1]) for line in p.stdout.splitlines() if len(line.split()) == 2), default=0)


@pytest.fixture(scope="module")
def vpn_scan(tmp_path_factory):
    lab_unavailable_or_skip()
    for tool in ("wg", "wireguard-go"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    from tests.lab import Lab

    tmp = tmp_path_factory.mktemp("vpn")
    with Lab(tmp / "lab", prefix=lab_prefix("v")) as lab:
        lab.start(HOSTS)
        # the handshake is the tunnel's own business (keepalive at start): wait until it has
        # happened, so that the scan judges a tunnel that is up (a readiness wait, not a timing)
        deadline = time.monotonic() + 90
        while _handshake(lab, "wgpeer1") == 0 and time.monotonic() < deadline:
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


def test_no_wireguard_key_leaves_the_host(vpn_scan):
    code, run, _, keys = vpn_scan
    assert code == 1      # wglost fails
    private = [k[0] for k in keys.values()]
    assert len(private) == 3 and all(len(k) == 44 for k in private)
    secrets = [k for ks in keys.values() for k in ks]        # public keys too: only 8 characters leave
    for f in run.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not any(s.encode() in data for s in secrets), f"a WireGuard key is in {f}"
