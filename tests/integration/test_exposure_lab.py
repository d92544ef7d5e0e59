"""The outside-in view (issue 15) with real nmap against real lab hosts, through the real CLI:
``hardencheck scan --exposure`` (host state: tests/lab/kind_exposure.py).

- exp-blocked listens on an unapproved port its firewall drops: NET-006/NET-007 pass, NET-001 (the
  inside view) still fails;
- exp-open listens on it and its ruleset accepts it: NET-006 and NET-007 fail, the evidence shows
  the listener, the firewall's claim (default deny) and nmap's view (open);
- exp-tls10 offers TLS 1.0 on an approved port: NET-008 fails;
- unreachable (nothing on port 22) and ghost (an inventory address where no host is, so nmap finds
  it down): errors, never a pass;
- without --exposure the exposure controls are skipped; with nmap absent from PATH they are errors
  with reason nmap_missing.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from hardencheck.cli import main
from hardencheck.results import validate_document
from tests.conftest import lab_unavailable_or_skip, lab_prefix

pytestmark = pytest.mark.lab

HOSTS = ["exp-blocked", "exp-open", "exp-tls10", "unreachable"]
CONTROLS = "NET-001,NET-006,NET-007,NET-008,FW-001"
GHOST = "198.19.255.254"     # in the lab network, never a lab host (slots use .1/.2): nmap finds it down


def _scan(lab, inventory, out, *extra, env_path=None):
    argv = ["scan", "-i", str(inventory), "--known-hosts", str(lab.known_hosts_path), "--ssh-config",
            str(lab.ssh_config_path), "--control", CONTROLS, "--out", str(out), "--no-history", "--quiet",
            "--format", "json,html", *extra]
    old = os.environ.get("PATH")
    if env_path is not None:
        os.environ["PATH"] = env_path
    try:
        code = main(argv)
    finally:
        if env_path is not None:
            os.environ["PATH"] = old
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    doc = json.loads((run / "results.json").read_text(encoding="utf-8"))
    validate_document(doc)
    return code, run, doc, {(r["host"], r["control"]): r for r in doc["results"]}


@pytest.fixture(scope="module")
def exposure_lab(tmp_path_factory):
    lab_unavailable_or_skip()
    from tests.lab import Lab

    tmp = tmp_path_factory.mktemp("exposure")
    prefix = lab_prefix("x")
    with Lab(tmp / "lab", prefix=prefix) as lab:
        lab.start(HOSTS)
        inv = yaml.safe_load(lab.inventory_path.read_text())
        inv["hosts"]["ghost"] = {"address": GHOST, "groups": ["lab"]}
        inventory = lab.inventory_path.parent / "inventory-exposure.yml"
        inventory.write_text(yaml.safe_dump(inv))
        scanned = _scan(lab, inventory, tmp / "with", "--exposure")
        yield lab, inventory, tmp, scanned


def test_blocked_listener_passes_outside_and_fails_inside(exposure_lab):
    *_, (code, run, doc, by) = exposure_lab
    assert code == 1
    assert by[("exp-blocked", "NET-001")]["status"] == "fail"           # it listens on 8080
    r = by[("exp-blocked", "NET-006")]
    assert r["status"] == "pass", r["message"]
    assert r["actual"]["open"] == ["22/tcp"]
    r = by[("exp-blocked", "NET-007")]
    assert r["status"] == "pass", r["message"]
    assert r["actual"]["listening_unapproved"] == ["8080/tcp"]
    assert r["actual"]["views"] == ["8080/tcp: host listens on 0.0.0.0 (python3); firewall nftables: active true, "
                                    "inbound default deny true (IPv4); nmap from "
                                    f"{r['actual']['scanned_from']}: filtered"]


def test_open_listener_fails_with_the_three_views(exposure_lab):
    lab, *_, (code, run, doc, by) = exposure_lab
    r = by[("exp-open", "NET-006")]
    assert r["status"] == "fail" and r["actual"]["open"] == ["22/tcp", "8080/tcp"]
    r = by[("exp-open", "NET-007")]
    assert r["status"] == "fail"
    assert r["actual"]["reachable_unapproved"] == ["8080/tcp"]
    assert r["actual"]["firewall_default_deny"] is True                 # the ruleset claims default deny
    (view,) = r["actual"]["views"]
    assert "host listens on 0.0.0.0 (python3)" in view and "inbound default deny true" in view
    assert view.endswith(": open")
    # the scanner's source address is the lab's root side of the host's veth
    assert ipaddress.ip_address(r["actual"]["scanned_from"]) in ipaddress.ip_network("198.18.0.0/15")
    # the evidence: nmap's section (command, version, times), the listeners and the firewall ruleset
    sections = r["evidence"]["sections"]
    assert {"exp-open/net.exposure/nmap", "exp-open/net.exposure/sockets", "exp-open/net.exposure/fw_nft"} <= \
        set(sections)
    ev = doc["evidence"]["exp-open/net.exposure/nmap"]
    assert ev["code"].split()[:5] == [ev["nmap"]["path"], "-oX", "-", "-n", "-sS"]    # root: SYN scan
    assert ev["nmap"]["scan_type"] == "syn" and ev["nmap"]["version"]
    assert ev["nmap"]["started_at"] <= ev["nmap"]["ended_at"]
    assert "8080" in doc["evidence"]["exp-open/net.exposure/sockets"]["stdout"]
    assert "8080" in doc["evidence"]["exp-open/net.exposure/fw_nft"]["stdout"]


def test_tls10_listener_fails(exposure_lab):
    *_, (code, run, doc, by) = exposure_lab
    r = by[("exp-tls10", "NET-008")]
    assert r["status"] == "fail", r["message"]
    assert r["actual"]["legacy_protocols"] == ["4433/tcp TLSv1.0"]
    assert by[("exp-tls10", "NET-006")]["status"] == "pass"             # 4433 approved through NET-001's list
    assert by[("exp-open", "NET-008")]["status"] == "pass"


def test_unreachable_and_down_hosts_are_errors(exposure_lab):
    *_, (code, run, doc, by) = exposure_lab
    for host in ("unreachable", "ghost"):
        for cid in ("NET-006", "NET-007", "NET-008"):
            assert by[(host, cid)]["status"] == "error", (host, cid)
            assert by[(host, cid)]["reason"] == "unreachable"


def test_one_nmap_run_over_the_inventory_addresses_only(exposure_lab):
    lab, inventory, _, (code, run, doc, by) = exposure_lab
    manifest = json.loads((run / "manifest.json").read_text())
    listed = json.dumps(manifest)
    assert "exposure/nmap-ipv4.xml" in listed
    root = ET.fromstring((run / "exposure" / "nmap-ipv4.xml").read_bytes())
    args = root.get("args").split()
    targets = [a for a in args if a[0].isdigit() and "." in a]
    expected = sorted([lab.hosts[h].address for h in HOSTS] + [GHOST])
    assert sorted(targets) == expected                                   # no range, nothing else
    assert all("/" not in t and "-" not in t for t in targets)
    down = {h.find("address").get("addr") for h in root.findall("host")
            if h.find("status").get("state") != "up"}
    up = {h.find("address").get("addr") for h in root.findall("host")}
    assert GHOST not in up - down                                        # nmap did not find it up
    assert main(["verify", str(run)]) == 0


def test_without_exposure_the_controls_are_skipped(exposure_lab):
    lab, inventory, tmp, _ = exposure_lab
    code, run, doc, by = _scan(lab, inventory, tmp / "without", "--limit", "exp-open")
    for cid in ("NET-006", "NET-007", "NET-008"):
        r = by[("exp-open", cid)]
        assert r["status"] == "skipped" and "--exposure" in r["message"]
    assert by[("exp-open", "NET-001")]["status"] == "fail"
    assert not (run / "exposure").exists()


def test_nmap_missing_is_an_error(exposure_lab, tmp_path):
    lab, inventory, tmp, _ = exposure_lab
    empty = tmp_path / "bin"
    empty.mkdir()
    code, run, doc, by = _scan(lab, inventory, tmp / "nonmap", "--limit", "exp-open", "--exposure",
                               "--fail-on", "none", env_path=str(empty))
    assert code == 2                                                     # incomplete, never all clear
    for cid in ("NET-006", "NET-007", "NET-008"):
        r = by[("exp-open", cid)]
        assert r["status"] == "error" and r["reason"] == "nmap_missing", r
        assert "not found on PATH" in r["message"]
    assert by[("exp-open", "NET-001")]["status"] == "fail"               # the SSH view still works


CONNECT_SCAN = """
import json, sys
sys.path.insert(0, sys.argv[1])
from hardencheck.collect.exposure import OutsideView
from hardencheck.config import ExposureSettings
from hardencheck.inventory import Host
hosts = [Host(name=a, address=a) for a in sys.argv[2:]]
view = OutsideView(hosts, ExposureSettings(ports=["22", "4433", "8080"], max_retries=1)).start()
assert view.wait(300)
print(json.dumps({h.address: json.loads(view.host_view(h.name)[0].stdout) for h in hosts}))
"""


@pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) not installed")
def test_without_root_a_connect_scan_sees_the_same(exposure_lab):
    """The collector as an unprivileged user (nobody): nmap's connect scan, recorded as such."""
    lab, *_ = exposure_lab
    addrs = [lab.hosts["exp-open"].address, lab.hosts["exp-blocked"].address]
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                        CONNECT_SCAN, str(Path(__file__).resolve().parents[2]), *addrs],
                       capture_output=True, text=True, timeout=600, cwd="/")
    assert p.returncode == 0, p.stderr
    views = json.loads(p.stdout)
    assert {v["scan_type"] for v in views.values()} == {"connect"}
    assert views[addrs[0]]["ports_by_state"]["open"] == "22,8080"
    assert views[addrs[1]]["ports_by_state"] == {"filtered": "4433,8080", "open": "22"}


def test_hostile_banners_stay_out_of_every_report(exposure_lab):
    """exp-open's listener greets every connection with markup and a terminal escape; nmap connected
    to it (open, TLS attempted), but no banner is read into a fact, the evidence or a report."""
    from tests.lab.kind_exposure import HOSTILE_BANNER

    lab, *_, (code, run, doc, by) = exposure_lab
    with socket.create_connection((lab.hosts["exp-open"].address, 8080), timeout=5) as s:
        assert s.recv(4096).startswith(HOSTILE_BANNER.encode()[:20])           # the hostile input is real
    assert by[("exp-open", "NET-006")]["actual"]["open"] == ["22/tcp", "8080/tcp"]
    for path in [run / "results.json", run / "report.html", *sorted((run / "hosts").glob("*.json")),
                 run / "exposure" / "nmap-ipv4.xml"]:
        data = path.read_bytes()
        assert b"hc-banner" not in data and b"\x1b[2J" not in data and b"\\u001b[2J" not in data, path


def test_an_interrupted_nmap_run_is_stopped_and_an_error(exposure_lab):
    """stop() (Ctrl-C/SIGTERM of the scan) kills nmap at once; the hosts get an error, not a pass."""
    from hardencheck.collect.exposure import OutsideView
    from hardencheck.collect.probes import get_probe
    from hardencheck.config import ExposureSettings
    from hardencheck.errors import ProbeError
    from hardencheck.inventory import Host

    lab, *_ = exposure_lab
    view = OutsideView([Host(name="b", address=lab.hosts["exp-blocked"].address)],
                       ExposureSettings(ports=["1-65535"], timing=2)).start()      # minutes at -T2
    deadline = time.monotonic() + 30
    while view._proc is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert view._proc is not None and not view.wait(1)
    view.stop()
    assert view.wait(10) and view._proc.returncode is not None
    sec, _ = view.host_view("b")
    probe = get_probe("net.exposure")
    with pytest.raises(ProbeError) as e:
        probe().parse({"nmap": sec}, probe.resolve_args({}))
    assert e.value.reason == "incomplete_output" and "interrupted" in e.value.message
