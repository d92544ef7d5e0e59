"""An interrupted scan keeps what it collected.

SIGTERM (or Ctrl-C): finished hosts go into results.json marked incomplete. SIGKILL: nothing runs
after the signal, yet every host that finished before it is in the bundle, listed in a manifest
that verifies (hashes and signature), and the run says it did not finish.
"""

import json
import signal
import subprocess
import sys
import time

import pytest

from hardencheck.records.bundle import MANIFEST

pytestmark = pytest.mark.lab


def start_scan(lab, tmp_path, *extra):
    inv = tmp_path / "inv.yml"
    # the hanging host holds the scan open for a long connect timeout; the others finish at once
    inv.write_text(lab.inventory_path.read_text().replace("connect_timeout: 3", "connect_timeout: 120"))
    # the inventory names its key and known_hosts files relative to itself
    (tmp_path / "id_ed25519").write_bytes(lab.client_key_path.read_bytes())
    (tmp_path / "id_ed25519").chmod(0o600)
    (tmp_path / "known_hosts").write_bytes(lab.known_hosts_path.read_bytes())
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "hardencheck", "scan", "-i", str(inv), "--ssh-config",
                             "/dev/null", "--out", str(out), "--limit", "hardened,weak,unreachable,hanging",
                             "--control", "SSH-001,FW-001", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, out


def wait_for_hosts(out, n):
    """The bundle, once its manifest lists ``n`` finished hosts (bounded wait)."""
    for _ in range(600):
        for manifest in out.glob(f"*/{MANIFEST}"):
            try:
                if len(json.loads(manifest.read_text())["run"]["hosts_finished"]) >= n:
                    return manifest.parent
            except ValueError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"{n} hosts never finished")


def test_sigterm_mid_scan_keeps_finished_hosts(lab, tmp_path):
    proc, out = start_scan(lab, tmp_path)
    try:
        bundle = wait_for_hosts(out, 3)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2, stderr.decode()
    doc = json.loads((bundle / "results.json").read_text())
    assert doc["run"]["complete"] is False and doc["run"]["exit_code"] == 2
    assert doc["run"]["inventory"]["not_scanned"] == ["hanging"]
    assert sorted(h["name"] for h in doc["hosts"]) == ["hardened", "unreachable", "weak"]
    assert b"interrupted" in stdout
    # the summary says what happened (not "incomplete (errors)"), and what the unfinished host
    # should prove is not verified rather than left out
    assert b"exit code 2: scan interrupted: 3 of 4 host(s) finished" in stdout, stdout.decode()
    items = {i["id"]: i for i in doc["tom"]["items"] if not i["group"]}
    ssh_items = [i for i in items.values() if "SSH-001" in i["controls"]]
    assert ssh_items and all(i["hosts"]["hanging"] == "not_verified" for i in ssh_items)
    assert all(i["status"] in ("not_met", "not_verified") for i in ssh_items)
    html = (bundle / "report.html").read_text()
    assert "scan interrupted" in html and "None" not in html.split("<body", 1)[1][:20000]
    m = json.loads((bundle / MANIFEST).read_text())
    assert m["run"]["state"] == "interrupted" and len(list((bundle / "hosts").iterdir())) == 3
    v = subprocess.run([sys.executable, "-m", "hardencheck", "verify", str(bundle)], capture_output=True, text=True)
    assert v.returncode == 2 and "the scan was interrupted; 3 of 4 host(s) finished" in v.stdout, v.stdout


def test_sigkill_leaves_finished_hosts_readable_and_verifiable(lab, tmp_path):
    key = tmp_path / "signer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("ci " + " ".join((tmp_path / "signer.pub").read_text().split()[:2]) + "\n")
    proc, out = start_scan(lab, tmp_path, "--sign-key", str(key), "--history", str(tmp_path / "h.db"))
    try:
        bundle = wait_for_hosts(out, 3)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (bundle / "results.json").exists()          # nothing ran after the kill
    m = json.loads((bundle / MANIFEST).read_text())
    assert m["run"]["state"] == "running" and sorted(m["run"]["hosts_finished"]) == ["hardened", "unreachable",
                                                                                   "weak"]
    # every finished host is a complete JSON file the manifest lists, hash and all
    hosts = {json.loads((bundle / f["path"]).read_text())["host"]["name"]
             for f in m["files"] if f["path"].startswith("hosts/")}
    assert hosts == {"hardened", "unreachable", "weak"}
    v = subprocess.run([sys.executable, "-m", "hardencheck", "verify", str(bundle), "--allowed-signers",
                        str(allowed)], capture_output=True, text=True)
    assert v.returncode == 2, v.stdout
    assert "good signature by ci" in v.stdout and "FAIL" not in v.stdout
    assert "did not finish (the scanner was killed); 3 of 4 host(s) finished" in v.stdout
    # the finished hosts can still be reported on, from the bundle alone
    r = subprocess.run([sys.executable, "-m", "hardencheck", "report", str(bundle), "--format", "json,md",
                        "--out", str(tmp_path / "after")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "after" / "results.json").read_text())
    assert doc["run"]["complete"] is False and doc["run"]["inventory"]["not_scanned"] == ["hanging"]
    by = {(x["host"], x["control"]): x["status"] for x in doc["results"]}
    assert by[("hardened", "SSH-001")] == "pass" and by[("weak", "SSH-001")] == "fail"
    assert by[("unreachable", "SSH-001")] == "error"
