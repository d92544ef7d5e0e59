"""The scan's side of testinfra controls: collect and check the marked tests before anything
connects, run them for one host in a pytest subprocess, turn outcomes into results + evidence.

A subprocess, not pytest in the scanner's process: a user's test module is imported fresh for
each host, can neither crash nor hang the scan (it is killed after its budget), and pytest's
global state never meets the scanner's threads. It connects with hardencheck's own transport
(``backend.py``) and the scan's resolved host, so host keys, jump hosts, become and timeouts are
the same as for the probe script.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge.controls import SEVERITIES, Control, LoadedControl
from hardencheck.results import Result

#: the probe name a testinfra control carries: it has no shell section of its own
TESTINFRA_PROBE = "testinfra"
#: a testinfra control's id: an area, up to two sub-areas, three digits (ACME-BACKUP-001)
TEST_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]{1,15}(-[A-Z][A-Z0-9]{0,15}){0,2}-[0-9]{3}$")
MARKER_KEYS = ("id", "title", "severity", "tom", "description", "rationale", "remediation", "tags")
#: seconds to collect a test folder (imports only, nothing connects)
COLLECT_TIMEOUT = 120.0
#: characters of pytest's own output kept when a run fails outright
TAIL_CHARS = 2000


@dataclass
class TestinfraControl:
    id: str
    title: str
    severity: str
    test: str                      # pytest node id without the host parameter: file::function
    file: str
    line: int
    rootdir: str = ""              # pytest's rootdir the node id is relative to
    tom: list[str] = field(default_factory=list)
    description: str = ""
    rationale: str = ""
    remediation: str = ""
    tags: list[str] = field(default_factory=list)

    def loaded(self) -> LoadedControl:
        """The control as the rest of hardencheck sees it (reports, TOM roll-up, history)."""
        c = Control.model_construct(
            id=self.id, title=self.title, severity=self.severity, probe=TESTINFRA_PROBE,
            description=self.description or f"The testinfra test {self.test} passes on the host.",
            rationale=self.rationale,
            remediation=self.remediation or f"See the test {self.test} ({self.file}:{self.line}) and its failure.",
            tags=["testinfra", *self.tags], expect=[], params={}, args={})
        data = Path(self.file).read_bytes() if Path(self.file).is_file() else b""
        return LoadedControl(c, f"{self.file}:{self.line}", hashlib.sha256(data).hexdigest())


def _pytest_argv(args: list[str], rootdir: str) -> list[str]:
    # -c /dev/null: the folder's own test settings of the scanner's working directory (e.g. a
    # project's pyproject.toml with testpaths/addopts) do not apply; a conftest.py beside the
    # tests does (it is the user's test code)
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
            "--rootdir", rootdir, *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
                                                            "PYTEST_PLUGINS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"     # nothing written into the user's test folder
    return env


def _rootdir(paths: list[str]) -> str:
    dirs = [str(Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent) for p in paths]
    return os.path.commonpath(dirs)


def collect_tests(paths: list[str]) -> list[TestinfraControl]:
    """The marked tests of ``paths`` (files or folders), checked: every test needs a valid
    ``hardencheck`` marker, ids are unique. All problems at once, each with file and line."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise ConfigErrors([ConfigError("testinfra path not found", file=p) for p in missing])
    rootdir = _rootdir(paths)
    with tempfile.TemporaryDirectory(prefix="hc-testinfra-") as tmp:
        out = Path(tmp) / "collected.json"
        try:
            p = subprocess.run(_pytest_argv(["--collect-only", "--hardencheck-results", str(out),
                                             *[str(Path(x).resolve()) for x in paths]], rootdir),
                               capture_output=True, text=True, timeout=COLLECT_TIMEOUT, env=_env(),
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"collecting the testinfra tests took over {COLLECT_TIMEOUT:g} s",
                              file=", ".join(paths)) from None
        if not out.exists():
            raise ConfigError("pytest could not collect the testinfra tests: "
                              + (p.stdout + p.stderr)[-TAIL_CHARS:].strip(), file=", ".join(paths))
        data = json.loads(out.read_text(encoding="utf-8"))
    errors = [ConfigError("the test file could not be imported: " + e["report"].strip().splitlines()[-1],
                          file=e["nodeid"] or ", ".join(paths)) for e in data["collect_errors"]]
    tests, seen = [], {}
    for t in data["collected"]:
        try:
            tc = _control(t, rootdir)
        except ConfigError as e:
            errors.append(e)
            continue
        if tc.id in seen:
            errors.append(ConfigError(f"control id {tc.id} is also used by {seen[tc.id]}", file=t["file"],
                                      line=t["line"], field="hardencheck.id"))
            continue
        seen[tc.id] = t["test"]
        tests.append(tc)
    if errors:
        raise ConfigErrors(errors)
    if not tests:
        raise ConfigError("no testinfra tests found", file=", ".join(paths))
    return tests


def _control(t: dict[str, Any], rootdir: str) -> TestinfraControl:
    where = {"file": t["file"], "line": t["line"]}
    m = t.get("marker")
    if m is None:
        raise ConfigError(f"{t['test']} has no @pytest.mark.hardencheck(id=..., title=..., severity=...) "
                          "marker: every testinfra test run by a scan is a control", field="hardencheck", **where)
    unknown = [k for k in m if k not in MARKER_KEYS]
    if unknown:
        raise ConfigError(f"unknown marker argument(s) {', '.join(unknown)}; known: {', '.join(MARKER_KEYS)}",
                          field="hardencheck", **where)
    cid, title, sev = m.get("id"), m.get("title"), m.get("severity")
    if not isinstance(cid, str) or not TEST_CONTROL_ID.match(cid):
        raise ConfigError(f"id {cid!r} must look like ACME-001 or ACME-BACKUP-001 (upper-case area, up to "
                          "two upper-case sub-areas, three digits, joined by dashes)", field="hardencheck.id", **where)
    if not isinstance(title, str) or not 5 <= len(title) <= 150:
        raise ConfigError("title: 5 to 150 characters", field="hardencheck.title", **where)
    if sev not in SEVERITIES:
        raise ConfigError(f"severity {sev!r}: one of {', '.join(SEVERITIES)}", field="hardencheck.severity", **where)
    for key in ("tom", "tags"):
        v = m.get(key, [])
        if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise ConfigError(f"{key}: a list of strings", field=f"hardencheck.{key}", **where)
    for key in ("description", "rationale", "remediation"):
        if not isinstance(m.get(key, ""), str):
            raise ConfigError(f"{key}: a string", field=f"hardencheck.{key}", **where)
    return TestinfraControl(id=cid, title=title, severity=sev, test=t["test"], file=t["file"], line=t["line"], rootdir=rootdir,
                            tom=list(m.get("tom", [])), description=m.get("description", ""),
                            rationale=m.get("rationale", ""), remediation=m.get("remediation", ""),
                            tags=list(m.get("tags", [])))


def _host_dict(host) -> dict[str, Any]:
    d = dataclasses.asdict(host)
    d["explicit"] = sorted(getattr(host, "explicit", set()) or [])
    return d


def run_for_host(host, tests: list[TestinfraControl], *, transport_options: dict[str, Any],
                 tom_items: dict[str, list[str]] | None = None) -> tuple[list[Result], dict[str, dict]]:
    """Run ``tests`` on ``host`` (one pytest subprocess) -> (results, evidence records)."""
    budget = max(60.0, 2 * float(host.command_timeout))
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="hc-testinfra-") as tmp:
        plan, out = Path(tmp) / "plan.json", Path(tmp) / "results.json"
        opts = {k: v for k, v in transport_options.items() if v is not None}
        plan.write_text(json.dumps({"hosts": [_host_dict(host)], "transport_options": opts,
                                    "command_timeout": host.command_timeout}), encoding="utf-8")
        os.chmod(plan, 0o600)
        rootdir = tests[0].rootdir
        argv = _pytest_argv(["--hardencheck-plan", str(plan), "--hardencheck-results", str(out),
                             *dict.fromkeys(str(Path(rootdir) / t.test) for t in tests)], rootdir)
        why = None
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=budget, env=_env(),
                               cwd=rootdir, stdin=subprocess.DEVNULL)
            if not out.exists():
                why = ("test_error", "pytest ended without results: " + (p.stdout + p.stderr)[-TAIL_CHARS:].strip())
        except subprocess.TimeoutExpired:
            why = ("timeout", f"the testinfra tests did not finish within {budget:g} s and were stopped")
        data = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {"tests": []}
    by_test = {t["test"]: t for t in data["tests"] if t.get("host") in (host.name, None)}
    results, evidence = [], {}
    for tc in tests:
        rec = by_test.get(tc.test)
        results.append(_result(host, tc, rec, why, evidence, started, (tom_items or {}).get(tc.id, tc.tom)))
    return results, evidence


_STATUS = {"passed": "pass", "failed": "fail", "error": "error", "skipped": "not_applicable"}


def _result(host, tc: TestinfraControl, rec: dict | None, why, evidence: dict, started: datetime,
            tom: list[str]) -> Result:
    base = dict(host=host.name, control=tc.id, severity=tc.severity, expected=f"the testinfra test {tc.test} passes",
                tom=list(tom), params={})
    if rec is None:
        reason, message = why or ("test_error", "the test did not run (deselected or not collected)")
        return Result(status="error", actual=None, message=message, reason=reason, **base)
    sections = []
    for i, cmd in enumerate(rec.get("commands", []), 1):
        eid = f"{host.name}/testinfra/{tc.id}/{i}"
        evidence[eid] = {"host": host.name, "probe": TESTINFRA_PROBE, "command": f"{tc.id} #{i}",
                         "code": cmd["command"], "args": [], "exit_code": cmd["exit_code"],
                         "stdout": cmd["stdout"], "stderr": cmd["stderr"], "stdout_bytes": cmd["stdout_bytes"],
                         "stderr_bytes": cmd["stderr_bytes"], "truncated": cmd["truncated"],
                         "complete": cmd["exit_code"] is not None,
                         "started_at": _utc(cmd["started_at"]), "ended_at": _utc(cmd["ended_at"])}
        sections.append(eid)
    status = _STATUS[rec["outcome"]]
    identity = rec.get("identity") or {}
    ref = {"probe": TESTINFRA_PROBE, "args": {"test": rec["nodeid"], "file": tc.file, "line": tc.line},
           "sections": sections, "collected_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "host": {k: identity.get(k) for k in ("name", "address", "port", "user", "transport", "sudo",
                                                 "host_key_type", "host_key_fingerprint",
                                                 "host_key_trusted_on_first_use")}}
    if rec.get("report"):
        ref["test_report"] = rec["report"]
    message = rec.get("message") or ""
    if status == "pass":
        message = f"the test passed ({len(sections)} command(s) ran)"
    elif status == "not_applicable":
        message = f"the test skipped itself: {message}"
    elif status == "fail":
        message = f"the test's assertion failed: {message}"
    reason = rec.get("reason") if status == "error" else ("precondition" if status == "not_applicable" else None)
    return Result(status=status, actual={"outcome": rec["outcome"]}, message=message, reason=reason,
                  evidence=ref, **base)


def _utc(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def add_to_outcome(host, outcome, tests: list[TestinfraControl], *, transport_options: dict[str, Any],
                   tom_items: dict[str, list[str]]) -> None:
    """Judge the host's selected testinfra controls (``tests``) into ``outcome`` (engine hook,
    before redaction). A host whose probe script could not even connect is not tried again: its
    testinfra controls are errors with the same reason."""
    if not tests:
        return
    if outcome.host.status != "ok":
        err = outcome.host.error or {}
        for tc in tests:
            outcome.results.append(Result(host=outcome.host.name, control=tc.id, status="error",
                                          severity=tc.severity, expected=f"the testinfra test {tc.test} passes",
                                          actual=None, message=err.get("message", "the host could not be scanned"),
                                          reason=err.get("reason", "transport"), tom=list(tom_items.get(tc.id, tc.tom)),
                                          evidence={"connection": err}))
        return
    results, evidence = run_for_host(host, tests, transport_options=transport_options, tom_items=tom_items)
    outcome.results.extend(results)
    outcome.evidence.update(evidence)
