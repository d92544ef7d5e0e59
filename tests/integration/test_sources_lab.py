"""Where a setting comes from (issue 14.4, the OpenSCAP gaps), on real lab hosts: the weak host's
``PermitRootLogin yes`` is traced to its sshd_config.d drop-in and the ignored line below it,
login.defs settings to their line, and a sysctl set only at runtime (the lab's start script) to the
kernel default the next boot restores; shown in the result through ``show`` of a site control."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardencheck.cli import main
from tests.conftest import lab_unavailable_or_skip, lab_prefix
from tests.lab import Lab

pytestmark = pytest.mark.lab
FOLDER = Path(__file__).parent / "source_controls"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    lab_unavailable_or_skip()
    tmp = tmp_path_factory.mktemp("sources")
    prefix = lab_prefix("s")
    with Lab(tmp / "lab", prefix=prefix) as lab:
        lab.start(["hardened", "weak", "rtonly"])
        out = tmp / "runs"
        main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
              "--ssh-config", "/dev/null", "--out", str(out), "--quiet", "--format", "json,html",
              "--controls", str(FOLDER), "--tags", "src", "--no-history"])
        (res,) = out.glob("*/results.json")
        html = (res.parent / "report.html").read_text()
    doc = json.loads(res.read_text())
    return {(r["host"], r["control"]): r for r in doc["results"]}, doc, html


def test_sshd_setting_traced_to_the_drop_in(scanned):
    by, doc, html = scanned
    weak = by[("weak", "SRC-001")]
    assert weak["status"] == "fail"
    src = weak["actual"]["setting_sources.permitrootlogin"]
    assert src.startswith("/etc/ssh/sshd_config.d/50-weak.conf:")
    line = int(src.rsplit(":", 1)[1])
    text = doc["evidence"]["weak/sshd.config/sources"]["stdout"]
    assert f"{line}:PermitRootLogin yes" in text.split("F /etc/ssh/sshd_config.d/50-weak.conf\n", 1)[1]
    assert weak["actual"]["config_files"][:2] == ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/50-weak.conf"]
    hard = by[("hardened", "SRC-001")]
    assert hard["status"] == "pass"
    assert hard["actual"]["setting_sources.permitrootlogin"].startswith("/etc/ssh/sshd_config:")
    assert "50-weak.conf" in html                      # the report shows where it came from


def test_login_defs_setting_traced_to_its_line(scanned):
    by, doc, _ = scanned
    for host, status, method in (("hardened", "pass", "YESCRYPT"), ("weak", "fail", "MD5")):
        r = by[(host, "SRC-002")]
        assert (r["status"], r["actual"]["encrypt_method"]) == (status, method)
        where = r["actual"]["setting_sources.encrypt_method"]
        number = int(where.split(":")[1])
        lines = doc["evidence"][f"{host}/accounts.login_defs/login_defs"]["stdout"].splitlines()
        assert f"{number}:ENCRYPT_METHOD {method}" in [" ".join(x.split()) for x in lines]


def test_runtime_only_sysctl_is_lost_at_boot(scanned):
    by, _, _ = scanned
    r = by[("rtonly", "SRC-003")]      # hardened at runtime, nothing persisted (tests/lab/kind_sources.py)
    assert r["status"] == "fail"
    assert r["actual"]["net.ipv4.conf.all.accept_redirects"] == 0
    assert r["actual"]["at_boot.net.ipv4.conf.all.accept_redirects"] == 1
    assert r["actual"]["at_boot_from.net.ipv4.conf.all.accept_redirects"] == "kernel default"
    assert "net.ipv4.conf.all.accept_redirects" in r["actual"]["differs_at_boot"]


def test_persisted_sysctl_survives_the_boot(scanned):
    by, _, _ = scanned
    r = by[("hardened", "SRC-003")]     # the lab's hardened host persists them in /etc/sysctl.d/60-hardening.conf
    assert r["status"] == "pass"
    assert r["actual"]["at_boot_from.net.ipv4.conf.all.accept_redirects"].startswith("/etc/sysctl.d/60-hardening.conf:")
