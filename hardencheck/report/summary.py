"""The summary figures of one run, computed once from the results document.

The terminal summary and the Markdown summary both print what ``compute`` returns, so the two
always show the same numbers: totals per status, the hosts table, failures by severity and by
(control, hosts), checks that could not be completed, and the TOM measures not met or not
verified. ``compute`` takes the parsed results.json (or any dict with ``hosts``, ``results`` and
optionally ``controls``, ``run``, ``tom``) and copies nothing that a renderer would have to trust:
every string in it may have come from a host and is escaped by the renderer that prints it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hardencheck.results import SEVERITY_ORDER, STATUSES
from hardencheck.judge.tom import ROLLUP

#: severities, worst first
SEVERITIES = tuple(sorted(SEVERITY_ORDER, key=lambda s: -SEVERITY_ORDER[s]))

_SURROGATES = re.compile(r"[\ud800-\udfff]")


def no_surrogates(text: str) -> str:
    """Lone surrogates (``"\\udcff"`` in a JSON file parses into one) cannot be encoded: U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


@dataclass
class HostRow:
    name: str
    address: str
    fingerprint: str | None
    status: str                      # "ok" / "error" (nothing could be collected)
    counts: dict[str, int]
    reason: str | None = None        # host.error.reason (also set on an "ok" host with a note)
    message: str | None = None

    @property
    def note(self) -> str:
        return f"{self.reason}: {self.message}" if self.reason or self.message else ""


@dataclass
class Finding:
    host: str
    control: str
    severity: str
    title: str
    message: str
    reason: str | None = None


@dataclass
class Group:
    """One control failing (or erroring for one reason) on a list of hosts."""

    control: str
    title: str
    severity: str
    hosts: list[str]
    reason: str | None = None


@dataclass
class Measure:
    id: str
    title: dict[str, str]
    category: str | None
    status: str
    hosts: list[str]                 # the hosts where the measure has this (overall) status


@dataclass
class Summary:
    run_id: str | None
    complete: bool
    exit_code: int | None
    fail_on: str | None
    started_at: str | None
    ended_at: str | None
    tool_version: str | None
    not_scanned: list[str]
    totals: dict[str, int]
    hosts: list[HostRow]
    failures: list[Finding]                       # every fail, worst severity first
    failures_by_severity: dict[str, int]          # severity -> fail count (worst first, all keys)
    failure_groups: list[Group]                   # (control -> failing hosts), worst first
    errors: list[Finding]                         # error results on hosts that answered
    error_groups: list[Group]                     # (control, reason) -> hosts, most hosts first
    tom_counts: dict[str, int] = field(default_factory=dict)     # measures per roll-up status
    tom_open: list[Measure] = field(default_factory=list)        # not_met / not_verified

    @property
    def hosts_with_errors(self) -> list[HostRow]:
        """Hosts where nothing could be collected (connection, host key, sudo …)."""
        return [h for h in self.hosts if h.status != "ok"]

    @property
    def host_error_reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for h in self.hosts_with_errors:
            key = h.reason or "unknown"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def compute(doc: dict[str, Any]) -> Summary:
    titles = {c.get("id"): _s(c.get("title")) for c in doc.get("controls") or []}
    results = doc.get("results") or []
    run = doc.get("run") or {}

    per_host: dict[str, dict[str, int]] = {}
    totals = {s: 0 for s in STATUSES}
    for r in results:
        st = r.get("status")
        if st not in totals:
            continue
        totals[st] += 1
        per_host.setdefault(_s(r.get("host")), {s: 0 for s in STATUSES})[st] += 1

    hosts: list[HostRow] = []
    seen: set[str] = set()
    for h in doc.get("hosts") or []:
        name = _s(h.get("name"))
        seen.add(name)
        ident = h.get("identity") or {}
        err = h.get("error") or {}
        hosts.append(HostRow(name=name, address=_s(ident.get("address")),
                             fingerprint=ident.get("host_key_fingerprint"),
                             status=_s(h.get("status") or "ok"),
                             counts=per_host.get(name, {s: 0 for s in STATUSES}),
                             reason=err.get("reason"), message=err.get("message")))
    for name, counts in per_host.items():          # results of a host missing from hosts[]
        if name not in seen:
            hosts.append(HostRow(name=name, address="", fingerprint=None, status="ok", counts=counts))
    bad_hosts = {h.name for h in hosts if h.status != "ok"}

    def finding(r: dict) -> Finding:
        cid = _s(r.get("control"))
        return Finding(host=_s(r.get("host")), control=cid, severity=_s(r.get("severity") or "info"),
                       title=titles.get(cid, ""), message=_s(r.get("message")), reason=r.get("reason"))

    failures = [finding(r) for r in results if r.get("status") == "fail"]
    failures.sort(key=lambda f: (-SEVERITY_ORDER.get(f.severity, 0), f.control, f.host))
    by_sev = {s: 0 for s in SEVERITIES}
    for f in failures:
        by_sev[f.severity] = by_sev.get(f.severity, 0) + 1

    groups: dict[str, Group] = {}
    for f in failures:
        g = groups.setdefault(f.control, Group(f.control, f.title, f.severity, []))
        g.hosts.append(f.host)
    failure_groups = sorted(groups.values(),
                            key=lambda g: (-SEVERITY_ORDER.get(g.severity, 0), -len(g.hosts), g.control))

    errors = [finding(r) for r in results
              if r.get("status") == "error" and _s(r.get("host")) not in bad_hosts]
    errors.sort(key=lambda f: (f.control, f.host))
    egroups: dict[tuple[str, str], Group] = {}
    for e in errors:
        g = egroups.setdefault((e.control, _s(e.reason)), Group(e.control, e.title, e.severity, [], e.reason))
        g.hosts.append(e.host)
    error_groups = sorted(egroups.values(), key=lambda g: (-len(g.hosts), g.control, _s(g.reason)))

    tom_counts: dict[str, int] = {}
    tom_open: list[Measure] = []
    for m in ((doc.get("tom") or {}).get("items") or []):
        if m.get("group"):
            continue
        st = _s(m.get("status"))
        tom_counts[st] = tom_counts.get(st, 0) + 1
        if st in ("not_met", "not_verified"):
            tom_open.append(Measure(id=_s(m.get("id")), title=m.get("title") or {},
                                    category=m.get("category"), status=st,
                                    hosts=[h for h, hs in (m.get("hosts") or {}).items() if hs == st]))
    tom_counts = {s: tom_counts[s] for s in ROLLUP if tom_counts.get(s)}

    return Summary(
        run_id=run.get("id"), complete=bool(run.get("complete", True)), exit_code=run.get("exit_code"),
        fail_on=(run.get("options") or {}).get("fail_on"), started_at=run.get("started_at"),
        ended_at=run.get("ended_at"), tool_version=(run.get("tool") or {}).get("version"),
        not_scanned=list((run.get("inventory") or {}).get("not_scanned") or []),
        totals=totals, hosts=hosts, failures=failures, failures_by_severity=by_sev,
        failure_groups=failure_groups, errors=errors, error_groups=error_groups,
        tom_counts=tom_counts, tom_open=tom_open)
