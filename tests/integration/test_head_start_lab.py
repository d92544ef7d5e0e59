"""Connections opened while the plan loads (collect.head_start), against a real lab sshd.

The lab's sshd logs at VERBOSE: "Accepted publickey" for each authenticated connection and
"Starting session: command" for each exec, so the host's own log says when the scanner logged in
and whether anything ran.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from hardencheck.cli import main

pytestmark = pytest.mark.lab


class Log:
    """A lab host's sshd log from now on."""

    def __init__(self, lab, host: str):
        self.path = os.path.join(lab.hosts[host].dir, "sshd.log")
        self.start = os.path.getsize(self.path)

    def lines(self) -> list[str]:
        with open(self.path, errors="replace") as f:
            f.seek(self.start)
            return f.read().splitlines()

    def count(self, *what: str) -> int:
        return sum(any(w in line for w in what) for line in self.lines())

    def wait_for(self, *what: str, seconds: float = 10.0) -> int:
        """How many lines have one of ``what``, once there is one (or after ``seconds``)."""
        deadline = time.monotonic() + seconds
        while not self.count(*what) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.count(*what)


def scan(lab, out, *extra) -> int:
    return main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", str(lab.ssh_config_path), "--limit", "hardened", "--out", str(out),
                 "--no-history", "--quiet", "--format", "json", *extra])


def test_the_first_hosts_log_in_while_the_plan_loads_and_the_scan_uses_that_login(lab, tmp_path, monkeypatch):
    import hardencheck.scan.plan as plan

    log = Log(lab, "hardened")
    real = plan.prepare
    seen = {}

    def slow_prepare(req, selection=None):
        # a plan that takes its time (a big library, testinfra files): the host's login happens meanwhile
        seen["logins"] = log.wait_for("Accepted publickey")
        seen["sessions"] = log.count("Starting session")
        return real(req, selection)

    monkeypatch.setattr(plan, "prepare", slow_prepare)
    code = scan(lab, tmp_path / "out", "--control", "SSH-001,SSH-002")
    assert seen == {"logins": 1, "sessions": 0}     # logged in ahead, nothing run before the plan
    assert log.count("Accepted publickey") == 1     # the scan ran over that very connection
    assert log.count("Starting session: command") == 1
    (doc,) = (tmp_path / "out").glob("*/results.json")
    results = json.loads(doc.read_text())["results"]
    assert code in (0, 1)
    judged = sorted((r["control"], r["status"]) for r in results if r["status"] != "skipped")
    assert [c for c, _ in judged] == ["SSH-001", "SSH-002"]
    assert all(status in ("pass", "fail") for _, status in judged), judged


def test_a_refused_plan_closes_the_connections_opened_ahead_and_runs_nothing(lab, tmp_path, capsys):
    log = Log(lab, "hardened")
    code = scan(lab, tmp_path / "out", "--control", "NOPE-999")
    assert code == 3
    assert "unknown control id(s): NOPE-999" in capsys.readouterr().err
    # the login made ahead (it may finish after the refusal) is closed, unused
    assert log.wait_for("Accepted publickey") == 1
    # paramiko closes the socket without a disconnect message: sshd sees the end of the connection,
    # or a reset when its last packet (e.g. its host keys, sent after the login) was not read yet
    assert log.wait_for("Closing connection", "Connection reset by peer") == 1, log.lines()[-3:]
    assert log.count("Starting session") == 0
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_without_head_start_where_an_early_login_could_write_or_guess(lab, tmp_path):
    """--trust-on-first-use records unknown keys (a refused plan must write nothing): no login
    before the plan is accepted."""
    log = Log(lab, "hardened")
    code = scan(lab, tmp_path / "out", "--control", "NOPE-999", "--trust-on-first-use")
    assert code == 3
    time.sleep(1.0)
    assert log.count("Accepted publickey") == 0
    assert log.count("Connection from") == 0
