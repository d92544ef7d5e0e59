"""LOG-008 (audit.data_access) against a real auditd and a real kernel watch, over real SSH with the
real CLI, on two lab hosts of its own (tests/lab/kind_auditd.py: auditgood, auditbad).

Audit rules are kernel-wide and the lab hosts share the kernel and the PID space with this machine,
so the module changes the machine: it loads one watch (kind_auditd.WATCH) and starts auditd when
it is not running, and at teardown removes exactly that rule, stops auditd only if it started it
(by its pid) and puts kernel auditing back to its previous `enabled` state. Two scans of LOG-008
and LOG-001: one with the watch loaded and auditd installed but not running, one with auditd
running. Needs auditd installed (.ci/run installs it); skips without it (fails with CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from hardencheck.cli import main
from hardencheck.results import validate_document
from tests.conftest import lab_prefix, lab_unavailable_or_skip
from tests.lab.kind_auditd import UNWATCHED, WATCH, WATCHED

pytestmark = pytest.mark.lab

CONTROLS = "LOG-008,LOG-001"


def _auditctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["auditctl", *args], capture_output=True, text=True, timeout=30)


def _status() -> dict[str, int]:
    p = _auditctl("-s")
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines():
        key, _, value = line.partition(" ")
        if value.split() and value.split()[0].lstrip("-").isdigit():
            out[key] = int(value.split()[0])
    return out


def _auditd_running() -> bool:
    return subprocess.run(["pidof", "auditd"], capture_output=True).returncode == 0


class MachineAudit:
    """What this module changes in the machine's audit state, and undoing exactly that."""

    def __init__(self):
        self.added = False
        self.started_pid: int | None = None
        self.enabled_before: int | None = None

    def add_watch(self):
        self.enabled_before = _status()["enabled"]
        if self.enabled_before == 2:
            pytest.skip("this machine's audit rules are locked (enabled 2): no watch can be added")
        p = _auditctl(*WATCH)
        if p.returncode == 0:
            self.added = True
        elif "exists" not in p.stderr.lower():     # the same rule loaded by someone else: not ours to remove
            pytest.fail(f"auditctl {' '.join(WATCH)}: {p.stderr.strip()}")

    def start_daemon(self):
        if _auditd_running():
            return
        p = subprocess.run([shutil.which("auditd")], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"auditd did not start: {p.stderr.strip()}"
        for _ in range(100):
            pid = _status().get("pid", 0)
            if pid:
                self.started_pid = pid
                return
            time.sleep(0.1)
        pytest.fail("auditd started but never registered with the kernel (auditctl -s: pid 0)")

    def undo(self):
        problems = []
        if self.added:
            p = _auditctl(*(["-W"] + WATCH[1:]))
            if p.returncode != 0:
                problems.append(f"removing the watch: {p.stderr.strip()}")
        if self.started_pid:
            os.kill(self.started_pid, 15)
            for _ in range(300):
                if not os.path.exists(f"/proc/{self.started_pid}"):
                    break
                time.sleep(0.1)
            else:
                problems.append(f"auditd (pid {self.started_pid}) did not exit after SIGTERM")
        if self.enabled_before in (0, 1) and _status()["enabled"] != self.enabled_before:
            p = _auditctl("-e", str(self.enabled_before))
            if p.returncode != 0:
                problems.append(f"auditctl -e {self.enabled_before}: {p.stderr.strip()}")
        assert not problems, problems


def _scan(lab, out):
    main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
          "--ssh-config", str(lab.ssh_config_path), "--control", CONTROLS, "--out", str(out),
          "--no-history", "--quiet"])
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    doc = json.loads((run / "results.json").read_text(encoding="utf-8"))
    validate_document(doc)
    return {(r["host"], r["control"]): (r["status"], r.get("actual") or {}, r.get("message") or "")
            for r in doc["results"]}


@pytest.fixture(scope="module")
def audit_scans(tmp_path_factory):
    """(scan with auditd stopped or None when it was already running, scan with auditd running)."""
    lab_unavailable_or_skip()
    if not (shutil.which("auditctl") and shutil.which("auditd")):
        why = "auditd is not installed on this machine (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    from tests.lab import Lab

    tmp = tmp_path_factory.mktemp("auditd")
    machine = MachineAudit()
    with Lab(tmp / "lab", prefix=lab_prefix("au")) as lab:
        lab.start(["auditgood", "auditbad"])
        try:
            was_running = _auditd_running()
            machine.add_watch()
            stopped = None if was_running else _scan(lab, tmp / "stopped")
            machine.start_daemon()
            running = _scan(lab, tmp / "running")
            yield stopped, running
        finally:
            machine.undo()


def test_installed_but_not_running_fails(audit_scans):
    stopped, _ = audit_scans
    if stopped is None:
        pytest.skip("auditd was already running on this machine (not started here, so not stopped here)")
    for host in ("auditgood", "auditbad"):
        status, actual, msg = stopped[(host, "LOG-008")]
        assert status == "fail" and "`auditd_active` is false" in msg, msg
        assert actual["auditd_installed"] is True and actual["auditd_active"] is False
        assert f"{WATCHED} rwa" in actual["watches"]       # the rule is loaded: only the daemon is missing
        status, actual, msg = stopped[(host, "LOG-001")]
        assert status == "fail" and actual["installed"] is True and actual["active"] is False, msg
    assert stopped[("auditgood", "LOG-008")][1]["unwatched_data_paths"] == []


def test_watched_data_path_passes_while_auditd_runs(audit_scans):
    _, running = audit_scans
    status, actual, msg = running[("auditgood", "LOG-008")]
    assert status == "pass", msg
    assert actual["auditd_active"] is True and f"{WATCHED} rwa" in actual["watches"]
    assert actual["unwatched_data_paths"] == []
    for host in ("auditgood", "auditbad"):      # the same daemon and rule seen from both hosts
        status, actual, msg = running[(host, "LOG-001")]
        assert status == "pass" and actual["active"] is True and actual["rules_count"] >= 1, msg


def test_unwatched_data_path_fails_and_is_named(audit_scans):
    _, running = audit_scans
    status, actual, msg = running[("auditbad", "LOG-008")]
    assert status == "fail", msg
    assert actual["auditd_active"] is True and actual["unwatched_data_paths"] == [UNWATCHED]
    assert UNWATCHED in msg and WATCHED not in actual["unwatched_data_paths"]
