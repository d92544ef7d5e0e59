"""The peer benchmark's 25 checks as hardencheck controls (bench/peer-checks/, issue 14 part 3) give
the same verdicts as the kit's own commands run over plain OpenSSH, on lab hosts whose states differ
(the kit's mismatch count, which must be 0), and the folder is what bench/peer_checks.py makes of
the kit's checks.yaml."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hardencheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
KIT_CHECKS = ROOT.parent / "shared" / "bench" / "checks.yaml"
FOLDER = ROOT / "bench" / "peer-checks"


def kit_checks():
    if not KIT_CHECKS.is_file():
        pytest.skip(f"the peer benchmark kit is not beside the checkout ({KIT_CHECKS})")
    return yaml.safe_load(KIT_CHECKS.read_text())["checks"]


def test_the_folder_is_the_generators_output(tmp_path):
    kit_checks()
    subprocess.run([sys.executable, str(ROOT / "bench" / "peer_checks.py"), "write", str(KIT_CHECKS),
                    str(tmp_path / "gen")], check=True)
    made = {p.relative_to(tmp_path / "gen"): p.read_text() for p in (tmp_path / "gen").rglob("*.yml")}
    have = {p.relative_to(FOLDER): p.read_text() for p in FOLDER.rglob("*.yml")}
    assert made == have


@pytest.mark.lab
def test_same_verdicts_as_the_kits_commands(lab, tmp_path):
    checks = kit_checks()
    inv = yaml.safe_load(lab.inventory_path.read_text())
    for h in inv["hosts"].values():
        h.pop("params", None)              # they name controls of the shipped library
    path = lab.inventory_path.parent / "inventory-peer.yml"
    path.write_text(yaml.safe_dump(inv))
    out = tmp_path / "out"
    code = main(["scan", "-i", str(path), "--known-hosts", str(lab.known_hosts_path), "--limit", "hardened,weak,sudo",
                 "--library", str(FOLDER), "--tom", str(FOLDER / "tom" / "bench.yml"), "--out", str(out),
                 "--no-history", "--format", "json", "--quiet"])
    assert code in (0, 1)
    [doc] = [json.loads(p.read_text()) for p in out.glob("*/results.json")]
    assert not [r for r in doc["results"] if r["status"] == "error"]
    subprocess.run([sys.executable, str(ROOT / "bench" / "peer_checks.py"), "verdicts",
                    str(next(out.glob("*/results.json"))), str(tmp_path / "v.tsv")], check=True)
    mine = {tuple(line.split("\t")[:2]): line.split("\t")[2]
            for line in (tmp_path / "v.tsv").read_text().splitlines() if line}
    assert len(mine) == 3 * len(checks)
    mismatches, verdicts = [], set()
    for host in ("hardened", "weak", "sudo"):
        for c in checks:
            cmd = f"sudo -n sh -c {shlex.quote(c['cmd'])}" if lab.hosts[host].become else c["cmd"]
            p = subprocess.run(lab.ssh_argv(host, cmd), capture_output=True, text=True, timeout=30)
            v = "PASS" if re.search(c["expect"], p.stdout.strip()) else "FAIL"
            verdicts.add((c["id"], v))
            if mine[(host, c["id"])] != v:
                mismatches.append((host, c["id"], v, mine[(host, c["id"])], p.stdout[:80]))
    assert mismatches == []
    assert {v for _, v in verdicts} == {"PASS", "FAIL"}      # the hosts really differ


def test_the_kit_peer_script_tells_the_null_profile_from_the_real_one(tmp_path):
    """bench/peer_hardencheck.sh scans with generated resource.command controls on the null profile
    (every check `echo ok`) and with bench/peer-checks on the real one. It ran the real controls
    against null checks once (478 mismatches): the python it calls is replaced here by a recorder."""
    import subprocess

    calls = tmp_path / "calls"
    stub = tmp_path / "python"
    stub.write_text(f"#!/bin/sh\necho \"$*\" >> {calls}\nexit 0\n")
    stub.chmod(0o755)
    real = tmp_path / "checks.yaml"
    real.write_text("checks:\n- id: a\n  title: t\n  cmd: |-\n    sshd -T | grep x\n  expect: ^x$\n"
                    "- id: b\n  title: t\n  cmd: echo ok\n  expect: ^ok$\n")
    null = tmp_path / "checks-null.yaml"
    null.write_text("checks:\n- id: a\n  title: t\n  cmd: echo ok\n  expect: ^ok$\n"
                    "- id: b\n  title: t\n  cmd: echo ok\n  expect: ^ok$\n")
    for checks, generated in ((real, False), (null, True)):
        calls.write_text("")
        work = tmp_path / checks.stem
        work.mkdir()
        subprocess.run(["sh", str(ROOT / "bench" / "peer_hardencheck.sh"), str(tmp_path / "ssh_config"),
                        str(tmp_path / "known_hosts"), str(checks), str(work), str(tmp_path / "out.tsv")],
                       env={"PATH": "/usr/bin:/bin", "HC_PYTHON": str(stub)}, check=True)
        lines = calls.read_text().splitlines()
        scan = next(x for x in lines if "-m hardencheck scan" in x)
        assert any("write" in x and "--commands-only" in x for x in lines) == generated, lines
        assert (f"--library {work}/controls" in scan) == generated and ("bench/peer-checks" in scan) != generated
