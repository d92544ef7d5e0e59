"""A run history built from real lab scans while the lab changes between runs: a control breaks, is
fixed, a host leaves the inventory, a host's sshd stops; and a scan SIGKILLed mid-way."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hardencheck.records import drift
from hardencheck.records.history import History

pytestmark = pytest.mark.lab

CONTROLS = "SSH-001,SSH-002,FILE-005"
REPO = str(Path(__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def hlab(tmp_path_factory):
    from tests.conftest import lab_unavailable_or_skip
    from tests.lab import Lab

    lab_unavailable_or_skip()
    with Lab(tmp_path_factory.mktemp("hhlab"), prefix=os.environ.get("HC_HIST_LAB_PREFIX", "hh")) as running:
        running.start(names=["hardened", "weak", "sudo", "hanging"])
        yield running


def _inventory(lab, folder: Path, names, connect_timeout=3) -> Path:
    """The lab inventory with only ``names`` (same file each time: one inventory key)."""
    lines = lab.inventory_path.read_text().splitlines()
    keep = [line for line in lines if not line.startswith("  ") or not line.strip().split(":")[0] in
            {"hardened", "weak", "wrongkey", "hanging", "unreachable", "sudo"} or line.strip().split(":")[0] in names]
    text = "\n".join(keep).replace("connect_timeout: 3", f"connect_timeout: {connect_timeout}") + "\n"
    inv = folder / "inv.yml"
    inv.write_text(text)
    for f in ("id_ed25519",):
        if not (folder / f).exists():
            (folder / f).write_bytes(lab.client_key_path.read_bytes())
            (folder / f).chmod(0o600)
    if not (folder / "known_hosts").exists():
        (folder / "known_hosts").write_bytes(lab.known_hosts_path.read_bytes())
    return inv


def _scan_argv(inv: Path, out: Path, db: Path):
    return [sys.executable, "-m", "hardencheck", "scan", "-i", str(inv), "--ssh-config", "/dev/null",
            "--known-hosts", str(inv.parent / "known_hosts"), "--control", CONTROLS, "--out", str(out),
            "--history", str(db), "--format", "json,md", "--quiet"]


def _scan(inv: Path, out: Path, db: Path, *extra, code=None) -> Path:
    before = set(out.glob("2*")) if out.exists() else set()
    p = subprocess.run(_scan_argv(inv, out, db) + list(extra), capture_output=True, cwd=REPO, timeout=300)
    assert p.returncode in ((0, 1, 2) if code is None else (code,)), p.stderr.decode() + p.stdout.decode()
    (folder,) = set(out.glob("2*")) - before
    return folder


def _statuses(h: History, run_id: str) -> dict:
    return {f"{host}/{c}": r["status"] for (host, c), r in sorted(h.results(run_id).items())
            if c in CONTROLS.split(",")}


def _pairs(entries):
    return sorted((e["host"], e["control"], e["before"], e["after"]) for e in entries)


def test_history_of_a_changing_lab(hlab, tmp_path):
    out, scan_db, import_db = tmp_path / "out", tmp_path / "scan.db", tmp_path / "import.db"
    cfg = Path(hlab.hosts_dir) / "hardened" / "upper" / "etc" / "ssh" / "sshd_config"
    assert cfg.stat().st_mode & 0o777 == 0o600

    # 1: hardened + weak, as the lab made them
    r1 = _scan(_inventory(hlab, tmp_path, {"hardened", "weak"}), out, scan_db)
    # 2: hardened's sshd_config becomes world-readable (FILE-005 breaks)
    cfg.chmod(0o644)
    r2 = _scan(_inventory(hlab, tmp_path, {"hardened", "weak"}), out, scan_db, "--fail-on-new", "high", code=1)
    # 3: fixed again; weak leaves the inventory, sudo joins it
    cfg.chmod(0o600)
    # (only known failures left: --fail-on-new passes although SSH-002 still fails on hardened)
    r3 = _scan(_inventory(hlab, tmp_path, {"hardened", "sudo"}), out, scan_db, "--fail-on-new", "high", code=0)
    # 4: sudo's sshd stops
    sudo_pid = hlab.hosts["sudo"].pid
    os.kill(sudo_pid, signal.SIGKILL)
    for _ in range(100):
        if not Path(f"/proc/{sudo_pid}").exists() or \
                Path(f"/proc/{sudo_pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    r4 = _scan(_inventory(hlab, tmp_path, {"hardened", "sudo"}), out, scan_db)
    ids = [f.name for f in (r1, r2, r3, r4)]
    # scan --compare put the changes into the run's Markdown summary and results.json
    md2 = (r2 / "summary.md").read_text()
    assert "### Changes since the previous run" in md2 and f"Compared with run {ids[0]}" in md2
    assert "| high | FILE-005 | hardened | pass | fail |" in md2
    assert "Changes since" not in (r1 / "summary.md").read_text()
    doc3 = json.loads((r3 / "results.json").read_text())
    assert _pairs(doc3["comparison"]["fixed"]) == [("hardened", "FILE-005", "fail", "pass")]

    with History(import_db) as h:        # the same history, imported from the bundles afterwards
        for f in (r1, r2, r3, r4):
            assert h.import_run(f)["status"] == "imported"
        assert [h.import_run(f)["status"] for f in (r1, r2, r3, r4)] == ["exists"] * 4

    for db in (scan_db, import_db):
        with History(db) as h:
            runs = h.runs()
            assert [r["run_id"] for r in runs] == ids
            assert [r["imported"] for r in runs] == [db == import_db] * 4
            assert {r["inventory_key"] for r in runs} == {os.path.normpath(str(tmp_path / "inv.yml"))}
            assert [r["state"] for r in runs] == ["complete"] * 4
            assert [r["hosts_scanned"] for r in runs] == [2, 2, 2, 2]

            s1 = _statuses(h, ids[0])
            assert s1 == {"hardened/FILE-005": "pass", "hardened/SSH-001": "pass", "hardened/SSH-002": "fail",
                          "weak/FILE-005": "fail", "weak/SSH-001": "fail", "weak/SSH-002": "fail"}
            s3 = _statuses(h, ids[2])
            sudo3 = {k.split("/")[1]: v for k, v in s3.items() if k.startswith("sudo/")}
            assert sudo3 == {"FILE-005": "pass", "SSH-001": "pass", "SSH-002": "pass"}
            assert all(v == "error" for k, v in _statuses(h, ids[3]).items() if k.startswith("sudo/"))
            assert [(r["counts"]["pass"], r["counts"]["fail"], r["counts"]["error"]) for r in runs] == [
                (2, 4, 0), (1, 5, 0),
                (5, 1, 0), (2, 1, 3)]

            c12 = drift.compare(h, ids[0], ids[1])
            assert _pairs(c12["new_failures"]) == [("hardened", "FILE-005", "pass", "fail")]
            assert _pairs(c12["still_failing"]) == [("hardened", "SSH-002", "fail", "fail"),
                                                    ("weak", "FILE-005", "fail", "fail"),
                                                    ("weak", "SSH-001", "fail", "fail"),
                                                    ("weak", "SSH-002", "fail", "fail")]
            assert all(not c12[k] for k in ("fixed", "new_errors", "errors_resolved", "hosts_added", "hosts_gone",
                                            "hosts_unreachable", "controls_added", "controls_removed",
                                            "controls_changed"))
            assert [e["host"] for e in drift.new_failures_at_or_above(c12, "high")] == ["hardened"]
            assert drift.new_failures_at_or_above(c12, "critical") == []

            c23 = drift.compare(h, ids[1], ids[2])
            assert _pairs(c23["fixed"]) == [("hardened", "FILE-005", "fail", "pass")]
            assert c23["new_failures"] == []
            assert _pairs(c23["still_failing"]) == [("hardened", "SSH-002", "fail", "fail")]
            assert c23["hosts_gone"] == [{"host": "weak", "why": "not_in_run", "failing_before": 3}]
            assert [x["host"] for x in c23["hosts_added"]] == ["sudo"]
            assert not c23["new_errors"] and not c23["failures_not_rechecked"]

            c34 = drift.compare(h, ids[2], ids[3])
            assert [x["host"] for x in c34["hosts_unreachable"]] == ["sudo"]
            assert c34["hosts_unreachable"][0]["reason"] == "unreachable"
            assert _pairs(c34["new_errors"]) == [("sudo", "FILE-005", "pass", "error"),
                                                 ("sudo", "SSH-001", "pass", "error"),
                                                 ("sudo", "SSH-002", "pass", "error")]
            assert c34["failures_not_rechecked"] == []
            assert not c34["fixed"] and not c34["new_failures"] and not c34["hosts_gone"]

    # the CLI: history (counts, states) and diff (default: the last two runs of the inventory)
    env = dict(os.environ, HARDENCHECK_HISTORY=str(scan_db))
    p = subprocess.run([sys.executable, "-m", "hardencheck", "history", "--json"], capture_output=True,
                       cwd=REPO, env=env)
    assert p.returncode == 0, p.stderr.decode()
    listed = json.loads(p.stdout)["runs"]
    assert [(r["run_id"], r["hosts_scanned"], r["counts"]["fail"], r["state"]) for r in listed] == [
        (ids[0], 2, 4, "complete"), (ids[1], 2, 5, "complete"), (ids[2], 2, 1, "complete"),
        (ids[3], 2, 1, "complete")]
    p = subprocess.run([sys.executable, "-m", "hardencheck", "diff", "--json"], capture_output=True, cwd=REPO,
                       env=env)
    assert p.returncode == 0, p.stderr.decode()
    assert json.loads(p.stdout)["old"]["run_id"] == ids[2] and json.loads(p.stdout)["new"]["run_id"] == ids[3]
    p = subprocess.run([sys.executable, "-m", "hardencheck", "diff", str(r1), str(r2), "--history",
                        str(tmp_path / "none.db"), "--json"], capture_output=True, cwd=REPO)   # two bundles, no DB
    assert p.returncode == 0, p.stderr.decode()
    assert _pairs(json.loads(p.stdout)["new_failures"]) == [("hardened", "FILE-005", "pass", "fail")]


def test_scan_killed_mid_way_leaves_a_consistent_history(hlab, tmp_path):
    """SIGKILL while the hanging host holds the scan: run interrupted, the finished hosts, nothing else."""
    out, db = tmp_path / "out", tmp_path / "history.db"
    inv = _inventory(hlab, tmp_path, {"hardened", "weak", "hanging"}, connect_timeout=120)
    proc = subprocess.Popen(_scan_argv(inv, out, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    try:
        finished = 0
        for _ in range(600):                  # until the two quick hosts are recorded (bounded)
            if db.exists():
                try:
                    with History(db) as h:
                        runs = h.runs()
                        finished = runs[0]["hosts_scanned"] if runs else 0
                        if runs:
                            assert runs[0]["state"] == "running"     # the scanner is alive
                except Exception as e:      # noqa: BLE001 - the database may be mid-creation
                    if isinstance(e, AssertionError):
                        raise
            if finished >= 2:
                break
            time.sleep(0.1)
        assert finished == 2, "the two quick hosts were never recorded"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    (folder,) = list(out.glob("2*"))
    assert not (folder / "results.json").exists()
    with History(db) as h:
        (run,) = h.runs()
        assert run["state"] == "interrupted" and run["exit_code"] is None and run["run_id"] == folder.name
        hosts = h.hosts(run["run_id"])
        assert {n: d["status"] for n, d in hosts.items()} == {"hardened": "ok", "weak": "ok", "hanging": "not_scanned"}
        assert {host for host, _ in h.results(run["run_id"])} == {"hardened", "weak"}
        assert len(h.results(run["run_id"])) == 2 * len(h.controls(run["run_id"]))
        for name in ("hardened", "weak"):
            f = folder / hosts[name]["evidence_file"]
            assert hashlib.sha256(f.read_bytes()).hexdigest() == hosts[name]["evidence_sha256"]
        recorded = h.results(run["run_id"])
    with History(tmp_path / "imported.db") as h:    # the bundle alone tells the same story
        got = h.import_run(folder)
        assert (got["status"], got["state"]) == ("imported", "interrupted")
        assert {k: v["status"] for k, v in h.results(folder.name).items()} == \
            {k: v["status"] for k, v in recorded.items()}
        assert h.hosts(folder.name)["hanging"]["status"] == "not_scanned"
