"""The run report's findings chapter (``findings_context``): every failure, by severity and
control, AND every error (what could not be verified), by control, each row with an excerpt of
its raw evidence, and the hosts that could not be checked at all, one line each.

An excerpt is the first lines of the first evidence section that has output (stdout, or stderr
when stdout is empty), named by its key in results.json's ``evidence`` and the SHA-256 of the
whole stream as stored, so the printed page points at the exact bytes in the bundle; what the
excerpt leaves out is counted. Host output is hostile: the excerpt is a text the template
escapes like every other host string.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hardencheck.report.html_text import _A, plain
from hardencheck.report.view import SEVERITIES, ReportView

#: an excerpt shows at most this many lines and characters of one stream
EXCERPT_LINES = 4
EXCERPT_CHARS = 240


def excerpt(sections: list[str], evidence: dict[str, dict], prefer_stderr: bool = False) -> _A | None:
    """The excerpt of a result's evidence (see the module docstring), or None without output."""
    streams = ("stderr", "stdout") if prefer_stderr else ("stdout", "stderr")
    for stream in streams:
        for key in sections:
            rec = evidence.get(key)
            text = rec.get(stream) if rec else None
            if not text or not isinstance(text, str):
                continue
            shown = text[:EXCERPT_CHARS]
            nl = -1
            for _ in range(EXCERPT_LINES):
                nl = shown.find("\n", nl + 1)
                if nl < 0:
                    break
            else:
                shown = shown[:nl]
            shown = shown.rstrip("\n")
            data = text.encode("utf-8", "surrogatepass")
            more = len(data) - len(shown.encode("utf-8", "surrogatepass"))
            return _A(key=key, key_plain=plain(key), stream=stream,
                      text=_A(head=shown, tail="", tail_bytes=0, cut=0, simple=plain(shown)),
                      more=more if more > 1 else 0,         # the stream's final newline is no content
                      sha16=hashlib.sha256(data).hexdigest()[:16],
                      others=len(sections) - 1)
    return None


def findings_context(view: ReportView, rows: list[_A], ctl_by_id: dict, ctl_index: dict,
                     evidence: dict[str, dict], hosts: list[dict]) -> dict[str, Any]:
    """``findings`` (per severity: the failing controls with their rows), ``n_fail``, ``failing_ids``,
    ``error_controls`` (per control: its error rows on hosts that were reached), ``n_error``
    and ``unreached_hosts`` (name, index, reason, message, results)."""
    reached = {h["name"] for h in hosts if h.get("status") == "ok"}
    # every excerpt first, in document order, which is host by host: a scan's evidence is read
    # back from the host files one host at a time (records.host_files)
    for row in rows:
        if row.r.status == "fail" or (row.r.status == "error" and row.r.host in reached):
            row.excerpt = excerpt((row.r.get("evidence") or {}).get("sections") or [], evidence,
                                  row.r.status == "error")
    failing_by_sev: dict[str, dict[str, list]] = {}      # severity -> control -> failing rows
    for f in sorted(view.failures, key=lambda f: f.index):
        failing_by_sev.setdefault(f.severity, {}).setdefault(f.control, []).append(rows[f.index])
    findings = []
    for sev in SEVERITIES:
        ctls = []
        for cid, failing in failing_by_sev.get(sev, {}).items():
            c = ctl_by_id.get(cid, {"id": cid, "title": "", "severity": sev})
            _excerpts(failing, evidence, False)
            ctls.append({"c": c, "anchor": f"f{ctl_index.get(cid, cid)}", "ctl_anchor": f"c{ctl_index.get(cid, -1)}",
                         "rows": failing, "groups": _groups(failing), "expected": common_expected(failing)})
        ctls.sort(key=lambda x: x["c"]["id"])
        findings.append({"sev": sev, "controls": ctls, "n": sum(len(x["rows"]) for x in ctls)})

    errors_by_ctl: dict[str, list] = {}
    unreached_n: dict[str, int] = {}
    for row in rows:
        if row.r.status != "error":
            continue
        if row.r.host in reached:
            errors_by_ctl.setdefault(row.r.control, []).append(row)
        else:
            unreached_n[row.r.host] = unreached_n.get(row.r.host, 0) + 1
    error_controls = []
    for cid in sorted(errors_by_ctl):
        erring = errors_by_ctl[cid]
        _excerpts(erring, evidence, True)
        error_controls.append({"c": ctl_by_id.get(cid, {"id": cid, "title": "", "severity": "info"}),
                               "anchor": f"x{ctl_index.get(cid, cid)}", "ctl_anchor": f"c{ctl_index.get(cid, -1)}",
                               "rows": erring, "groups": _groups(erring)})
    unreached_hosts = [{"name": h["name"], "i": i, "reason": (h.get("error") or {}).get("reason") or "",
                        "message": (h.get("error") or {}).get("message") or "", "n": unreached_n.get(h["name"], 0)}
                       for i, h in enumerate(hosts) if h.get("status") != "ok"]
    return {"findings": findings, "n_fail": sum(f["n"] for f in findings),
            "failing_ids": {x["c"]["id"] for f in findings for x in f["controls"]},
            "error_controls": error_controls, "n_error": sum(len(x["rows"]) for x in error_controls),
            "unreached_hosts": unreached_hosts}


def _excerpts(rows: list[_A], evidence: dict[str, dict], prefer_stderr: bool) -> None:
    """Each row's excerpt; a row whose excerpt is the same output (section name and SHA-256) as an
    earlier row's of the same control says so (``same_as``: that row's host) instead of repeating it."""
    seen: dict[tuple[str, str, str], str] = {}
    for row in rows:
        if not hasattr(row, "excerpt"):
            row.excerpt = excerpt((row.r.get("evidence") or {}).get("sections") or [], evidence, prefer_stderr)
        x = row.excerpt
        if x is not None:
            same = (x.key.split("/", 1)[-1], x.stream, x.sha16)
            x.same_as = seen.get(same)
            seen.setdefault(same, row.r.host)


def _groups(rows: list[_A]) -> list[_A]:
    """Rows with the same expectation, found values, sentence, reason and evidence output (section
    names and SHA-256 of the excerpted stream) as one group: printed once, with all their hosts."""
    groups: dict[tuple, _A] = {}
    for row in rows:
        x = row.excerpt
        key = (row.r.get("expected"), row.actual.head if row.actual is not None else None,
               row.actual.tail if row.actual is not None else None, row.r.get("message"), row.r.get("reason"),
               tuple(name for _, name, _, _ in row.evlinks), (x.key.split("/", 1)[-1], x.sha16) if x else None)
        if key in groups:
            groups[key].rows.append(row)
        else:
            groups[key] = _A(row=row, rows=[row])
    return list(groups.values())


def common_expected(rows: list[_A]) -> str | None:
    exp = {row.r.get("expected", "") for row in rows}
    return exp.pop() if len(exp) == 1 else None
