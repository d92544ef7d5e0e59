"""The pytest plugin (entry point ``hardencheck``): testinfra tests as hardencheck controls.

Inert unless one of its options is given, so it never changes another pytest run:

* ``pytest --hardencheck-inventory inv.yml [--hardencheck-limit web] checks/``: runs a testinfra
  folder against an inventory's hosts over hardencheck's connection (strict host keys, jump
  hosts, become, timeouts: ``collect.testinfra.backend``), one ``host`` per inventory host.
* ``--hardencheck-plan FILE`` (written by ``hardencheck scan --testinfra``): the scan's resolved
  hosts and transport options instead of an inventory.
* ``--hardencheck-results FILE``: every test's outcome, its ``hardencheck`` marker and the
  commands it ran (bounded output) as JSON; the scan turns them into results and evidence.

A test becomes a control with its marker::

    @pytest.mark.hardencheck(id="ACME-BACKUP-001", title="...", severity="high", tom=["4.1"])

Outcomes: passed -> pass; an ``AssertionError`` -> fail; any other exception (also a connection
or host-key failure) -> error, never fail; ``pytest.skip`` -> not_applicable with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pytest
import testinfra.backend

from hardencheck.collect.testinfra import backend as hc_backend

testinfra.backend.BACKENDS.setdefault("hardencheck", "hardencheck.collect.testinfra.backend.HardencheckBackend")

MARKER = "hardencheck"
#: characters of a failure's report that are kept (the assertion and its introspection)
REPORT_CHARS = 4000


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("hardencheck", "hardencheck: testinfra tests as controls")
    g.addoption("--hardencheck-inventory", metavar="FILE",
                help="run testinfra tests against this hardencheck/Ansible inventory over hardencheck's connection")
    g.addoption("--hardencheck-limit", metavar="HOSTS", help="only these hosts or groups (comma-separated)")
    g.addoption("--hardencheck-known-hosts", metavar="FILE", action="append",
                help="known_hosts file (repeatable; default: the inventory's, else ~/.ssh/known_hosts)")
    g.addoption("--hardencheck-plan", metavar="FILE", help=argparse.SUPPRESS)
    g.addoption("--hardencheck-results", metavar="FILE",
                help="write every test's outcome, marker and commands (with output) as JSON")


def _hosts_from_inventory(config) -> list:
    from hardencheck.inventory import load_inventory
    from hardencheck.inventory.selection import limit_hosts
    inv = load_inventory(config.getoption("hardencheck_inventory"))
    limit = config.getoption("hardencheck_limit")
    return limit_hosts(inv, [x for x in limit.split(",") if x]) if limit else list(inv.hosts)


def _hosts_from_plan(path: str) -> tuple[list, dict[str, Any], float | None]:
    from hardencheck.inventory.model import Host, JumpHost
    plan = json.loads(Path(path).read_text(encoding="utf-8"))
    hosts = []
    for d in plan["hosts"]:
        d = dict(d)
        d["jump"] = [JumpHost(**j) for j in d.get("jump", [])]
        d["explicit"] = set(d.get("explicit", []))
        hosts.append(Host(**d))
    return hosts, plan.get("transport_options", {}), plan.get("command_timeout")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "hardencheck(id, title, severity, tom, description, remediation): "
                                       "the hardencheck control this testinfra test is")
    plan, inventory = config.getoption("hardencheck_plan"), config.getoption("hardencheck_inventory")
    if plan:
        hosts, options, timeout = _hosts_from_plan(plan)
    elif inventory:
        hosts, timeout = _hosts_from_inventory(config), None
        options = {"known_hosts": config.getoption("hardencheck_known_hosts")}
    else:
        hosts = None
    if hosts is not None:
        if not hosts:
            raise pytest.UsageError("hardencheck: no hosts selected")
        hc_backend.configure(hosts, options, timeout)
        # testinfra's own parametrisation of `host` then uses hardencheck's backend for each name
        config.option.connection = "hardencheck"
        config.option.hosts = ",".join(h.name for h in hosts)
        config.option.sudo = False
    if config.getoption("hardencheck_results"):
        config.pluginmanager.register(_Recorder(config.getoption("hardencheck_results")), "hardencheck-recorder")


def _marker(item) -> dict[str, Any] | None:
    m = item.get_closest_marker(MARKER)
    if m is None:
        return None
    kw = dict(m.kwargs)
    if m.args and "id" not in kw:
        kw["id"] = m.args[0]
    return kw


def _backend(item):
    host = getattr(item, "callspec", None) and item.callspec.params.get("_testinfra_host")
    return getattr(host, "backend", None)


class _Recorder:
    """Collects each test's outcome and commands; writes them at the end of the session."""

    def __init__(self, path: str):
        self.path = path
        self.tests: dict[str, dict[str, Any]] = {}
        self.collect_errors: list[dict[str, Any]] = []
        self.collected: list[dict[str, Any]] = []

    def _entry(self, item) -> dict[str, Any]:
        e = self.tests.get(item.nodeid)
        if e is None:
            fspath, line, _ = item.location
            b = _backend(item)
            e = self.tests[item.nodeid] = {
                "nodeid": item.nodeid, "test": item.nodeid.split("[", 1)[0], "file": str(item.path),
                "line": (line or 0) + 1, "host": b.hostname if isinstance(b, hc_backend.HardencheckBackend) else None,
                "marker": _jsonable(_marker(item)), "outcome": None, "reason": None, "message": "",
                "report": "", "commands": [], "duration": 0.0}
        return e

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        rep = outcome.get_result()
        e = self._entry(item)
        e["duration"] += rep.duration
        b = _backend(item)
        if isinstance(b, hc_backend.HardencheckBackend):
            e["commands"] += b.take_log()
            e["identity"] = b.identity()
        if rep.skipped and e["outcome"] is None:
            reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            e["outcome"], e["message"] = "skipped", reason.removeprefix("Skipped: ")
        elif rep.failed and e["outcome"] in (None, "passed"):
            exc = call.excinfo
            if rep.when == "call" and exc is not None and exc.errisinstance(AssertionError):
                e["outcome"], e["reason"] = "failed", None
            else:
                failed = exc.value if exc is not None else None
                e["outcome"] = "error"
                e["reason"] = getattr(failed, "reason", None) or "test_error"
                e["phase"] = rep.when
            e["message"] = _first_line(call.excinfo)
            e["report"] = str(rep.longrepr)[-REPORT_CHARS:]
        elif rep.passed and rep.when == "call" and e["outcome"] is None:
            e["outcome"] = "passed"

    def pytest_collection_finish(self, session):
        seen = {}
        for item in session.items:
            test = item.nodeid.split("[", 1)[0]
            if test not in seen:
                seen[test] = {"test": test, "file": str(item.path), "line": (item.location[1] or 0) + 1,
                              "marker": _jsonable(_marker(item))}
        self.collected = list(seen.values())

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append({"nodeid": report.nodeid, "report": str(report.longrepr)[-REPORT_CHARS:]})

    def pytest_sessionfinish(self, session):
        for e in self.tests.values():
            if e["outcome"] is None:     # setup passed but the call never reported (interrupted)
                e["outcome"], e["reason"], e["message"] = "error", "test_error", "the test did not finish"
        data = {"tests": list(self.tests.values()), "collected": self.collected,
                "collect_errors": self.collect_errors}
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self.path)


def _first_line(excinfo) -> str:
    if excinfo is None:
        return ""
    text = f"{excinfo.typename}: {excinfo.value}" if not excinfo.errisinstance(AssertionError) else str(excinfo.value)
    return (text.strip().splitlines() or [excinfo.typename])[0][:500]


def _jsonable(value):
    return json.loads(json.dumps(value, default=str)) if value is not None else None
