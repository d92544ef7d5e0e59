"""An interrupted scan keeps what it collected: finished hosts in results.json, marked incomplete."""

import json
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.lab


def test_sigterm_mid_scan_keeps_finished_hosts(lab, tmp_path):
    inv = tmp_path / "inv.yml"
    # the hanging host holds the scan open for a long connect timeout; the others finish at once
    inv.write_text(lab.inventory_path.read_text().replace("connect_timeout: 3", "connect_timeout: 120"))
    (tmp_path / "id_ed25519").write_bytes(lab.client_key_path.read_bytes())
    (tmp_path / "id_ed25519").chmod(0o600)
    (tmp_path / "known_hosts").write_bytes(lab.known_hosts_path.read_bytes())
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "hardencheck", "scan", "-i", str(inv), "--ssh-config",
                             "/dev/null", "--out", str(out), "--limit", "hardened,weak,unreachable,hanging",
                             "--control", "SSH-001,FW-001"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        partial = None
        for _ in range(600):                      # wait (bounded) until three hosts are on disk
            found = list(out.glob("*/hosts.partial.jsonl"))
            if found and len(found[0].read_text().splitlines()) >= 3:
                partial = found[0]
                break
            time.sleep(0.1)
        assert partial is not None, "the three quick hosts never finished"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2, stderr.decode()
    doc = json.loads((partial.parent / "results.json").read_text())
    assert doc["run"]["complete"] is False and doc["run"]["exit_code"] == 2
    assert doc["run"]["inventory"]["not_scanned"] == ["hanging"]
    assert sorted(h["name"] for h in doc["hosts"]) == ["hardened", "unreachable", "weak"]
    assert b"interrupted" in stdout
    # the partial log stays beside it: every finished host, one line each
    assert len(partial.read_text().splitlines()) == 3
