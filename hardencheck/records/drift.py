"""Drift between two runs of the history: what broke, what was fixed, what could not be rechecked.

``compare(history, old_run_id, new_run_id)`` returns a JSON-able dict. Per (host, control), with
``before``/``after`` the statuses in the old/new run (``None``: no result there):

  new_failures            after = fail, before != fail (before may be None: a new host or control)
  still_failing           after = fail, before = fail
  fixed                   before = fail, after in (pass, not_applicable)
  failures_not_rechecked  before = fail, after in (error, skipped, None): NOT a fix, just unknown now
  new_errors              after = error, before != error
  errors_resolved         before = error, after in (pass, fail, not_applicable)

An entry can be in two lists: fail -> error is in failures_not_rechecked and new_errors, error -> fail
in new_failures and errors_resolved.

Hosts that are in the old run but not scanned in the new one (gone from the inventory, or planned but
not reached in an interrupted run) are listed in ``hosts_gone`` and left out of the per-result lists,
as are controls no longer in the library (``controls_removed``). ``hosts_unreachable`` lists hosts
that answered before and could not be scanned at all now (connection/host-key/auth errors); their
results are in ``new_errors``. Controls whose definition changed (file sha256) are in
``controls_changed``: a new failure there may come from the new definition, not from the host.

The comparison on the terminal: ``hardencheck.report.changes.print_comparison``; in the Markdown
summary: ``hardencheck.report.markdown``.
"""

from __future__ import annotations

from hardencheck.errors import ConfigError
from hardencheck.results import SEVERITY_ORDER

LISTS = ("new_failures", "still_failing", "fixed", "failures_not_rechecked", "new_errors", "errors_resolved")
HOST_LISTS = ("hosts_added", "hosts_gone", "hosts_unreachable", "hosts_reachable_again")
CONTROL_LISTS = ("controls_added", "controls_removed", "controls_changed")
FIXED_TO = ("pass", "not_applicable")


def _run_meta(r: dict) -> dict:
    return {"run_id": r["run_id"], "started_at": r["started_at"], "ended_at": r["ended_at"], "state": r["state"],
            "inventory_key": r["inventory_key"], "hosts": r["hosts_scanned"], "counts": r["counts"]}


def _sort_key(e: dict):
    return (-SEVERITY_ORDER.get(e.get("severity") or "info", 0), e["control"], e["host"])


def compare(history, old_run_id: str, new_run_id: str) -> dict:
    """Compare two runs of ``history`` (a ``hardencheck.records.history.History``)."""
    old, new = history.run(old_run_id), history.run(new_run_id)
    for ref, got in ((old_run_id, old), (new_run_id, new)):
        if got is None:
            raise ConfigError(f"no run {ref!r} in the history", file=getattr(history, "path", None))
    o_hosts, n_hosts = history.hosts(old_run_id), history.hosts(new_run_id)
    o_ctl, n_ctl = history.controls(old_run_id), history.controls(new_run_id)
    o_res, n_res = history.results(old_run_id), history.results(new_run_id)

    o_seen = {h for h, d in o_hosts.items() if d["status"] != "not_scanned"}
    n_seen = {h for h, d in n_hosts.items() if d["status"] != "not_scanned"}
    out: dict = {"old": _run_meta(old), "new": _run_meta(new),
                 "same_inventory": old["inventory_key"] == new["inventory_key"]}
    for k in LISTS + HOST_LISTS + CONTROL_LISTS:
        out[k] = []

    for h in sorted(n_seen - o_seen):
        d = n_hosts[h]
        out["hosts_added"].append({"host": h, "status": d["status"], "reason": d["error_reason"]})
    for h in sorted(o_seen - n_seen):
        d = o_hosts[h]
        out["hosts_gone"].append({"host": h, "why": "not_scanned" if h in n_hosts else "not_in_run",
                                  "failing_before": d["n_fail"]})
    for h in sorted(o_seen & n_seen):
        before, after = o_hosts[h], n_hosts[h]
        if before["status"] == "ok" and after["status"] == "error":
            out["hosts_unreachable"].append({"host": h, "reason": after["error_reason"],
                                             "message": after["error_message"]})
        elif before["status"] == "error" and after["status"] == "ok":
            out["hosts_reachable_again"].append({"host": h, "reason_before": before["error_reason"]})

    for c in sorted(set(n_ctl) - set(o_ctl)):
        out["controls_added"].append({"control": c, "severity": n_ctl[c]["severity"], "title": n_ctl[c]["title"]})
    for c in sorted(set(o_ctl) - set(n_ctl)):
        out["controls_removed"].append({"control": c, "severity": o_ctl[c]["severity"],
                                        "title": o_ctl[c]["title"]})
    for c in sorted(set(o_ctl) & set(n_ctl)):
        a, b = o_ctl[c]["sha256"], n_ctl[c]["sha256"]
        if a and b and a != b:
            out["controls_changed"].append({"control": c, "severity": n_ctl[c]["severity"],
                                            "severity_before": o_ctl[c]["severity"], "title": n_ctl[c]["title"],
                                            "sha256_before": a, "sha256": b})

    pairs = {k for k in o_res if k[0] in n_seen and k[1] in n_ctl} | {k for k in n_res if k[0] in n_seen}
    for key in pairs:
        host, control = key
        b, a = o_res.get(key), n_res.get(key)
        before = b["status"] if b else None
        after = a["status"] if a else None
        cur = a or b
        entry = {"host": host, "control": control, "severity": cur["severity"],
                 "title": (n_ctl.get(control) or o_ctl.get(control) or {}).get("title"),
                 "before": before, "after": after, "reason": cur["reason"], "message": cur["message"]}
        if after == "fail":
            out["still_failing" if before == "fail" else "new_failures"].append(entry)
        elif before == "fail" and after != "waived":     # waived: still failing, an exception covers it
            out["fixed" if after in FIXED_TO else "failures_not_rechecked"].append(entry)
        if after == "error" and before != "error":
            out["new_errors"].append(entry)
        elif before == "error" and after in ("pass", "fail", "not_applicable"):
            out["errors_resolved"].append(entry)
    for k in LISTS:
        out[k].sort(key=_sort_key)
    out["counts"] = {k: len(out[k]) for k in LISTS + HOST_LISTS + CONTROL_LISTS}
    return out


def new_failures_at_or_above(cmp: dict, severity: str) -> list[dict]:
    """The comparison's new failures of ``severity`` or more (``none``: never any)."""
    if severity == "none":
        return []
    threshold = SEVERITY_ORDER[severity]
    return [e for e in cmp["new_failures"] if SEVERITY_ORDER.get(e["severity"], 0) >= threshold]


def compare_with_previous(history, run_id: str, *, complete_only: bool = True) -> dict | None:
    """Compare ``run_id`` with the latest earlier (complete) run of the same inventory; None when
    there is none. Works while ``run_id`` is still being recorded (scan --compare last)."""
    run = history.run(run_id)
    if run is None:
        return None
    prev = history.previous(run, complete_only=complete_only)
    return compare(history, prev["run_id"], run_id) if prev else None
