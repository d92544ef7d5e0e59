"""The annual effectiveness report's document (audit.json): the period's runs read from the history
(``History``'s read-only queries), the figures of every TOM item and control (``effectiveness``), the
catalog that structures them, and where and by whom it was made. ``report/audit_html`` renders it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from hardencheck.judge import tom as tom_catalog
from hardencheck.records import provenance
from hardencheck.records.bundle_check import UNVERIFIABLE, check_runs
from hardencheck.records.effectiveness import (
    HEADLINE,
    JUDGED,
    NOT_VERIFIED,
    Run,
    control_sequences,
    headline_class,
    iso_utc,
    item_sequence,
    parse_iso_utc,
    series_figures,
)
from hardencheck.records.effectiveness_periods import (
    Calendar,
    document_digest,
    gaps,
    hosts_seen,
    period_bounds,
    runs_digest,
    runs_in_period,
)
from hardencheck.records.files import sha256_file
from hardencheck.records.history import HistoryReader, Queries
from hardencheck.records.register_history import (
    attestation_outcomes,
    attestation_validity,
    exception_life,
)

#: 2: outcome ``held_with_exceptions`` (letter W), ``exceptions`` (each entry's life) and ``attestations``
#: (validity per measure); organisational measures judged by their attestations
#: 3: each run checked against its bundle (``runs.list[].bundle_check``, unverifiable runs count as not
#: verified), ``overall.headline`` (one class per technical measure, all of them in the denominator),
#: ``period.covered``/``period.warnings``, ``series.days[].pairs``, ``digest_sha256`` over the figures
AUDIT_VERSION = 3


@dataclass
class TomOutline:
    """The TOM structure of the report: the flat item list of results.json ``tom.items`` (id, depth,
    parents, title, group; measures: category, art32, controls, text) and the catalog identity."""
    info: dict[str, Any]
    items: list[dict[str, Any]]
    source: str = ""                      # where it came from: --tom file, history, default


def outline_from_file(path: str | Path | None) -> TomOutline:
    """The outline of a TOM catalog file (None: the built-in default catalog)."""
    cat = tom_catalog.load_catalog(path)
    items = []
    for it, depth, parents in cat.walk():
        e: dict[str, Any] = {"id": it.id, "depth": depth, "parents": parents, "title": it.title.model_dump(),
                             "group": it.items is not None}
        if it.items is None:
            e.update({"category": it.category, "art32": it.art32, "controls": list(it.controls or []),
                      "text": it.text.model_dump() if it.text else None})
        items.append(e)
    return TomOutline(tom_catalog.document(cat), items, source=str(path) if path else "default")


def outline_from_history(history: Queries, runs: list[Run]) -> TomOutline | None:
    """The TOM catalog recorded with the latest run of the period that has one with its items."""
    for r in reversed(runs):
        if not r.tom_sha256:
            continue
        doc = history.tom_catalog(r.tom_sha256)
        if doc and doc.get("items"):
            return TomOutline(doc.get("catalog") or {}, doc["items"], source=f"history (run {r.run_id})")
    return None


def compute(runs: list[Run], outline: TomOutline, date_from: date, date_to: date, *,
            inventory: str | None = None, as_of: datetime | None = None,
            control_info: dict[str, dict] | None = None,
            failing_hosts: dict[tuple[str, str], list[str]] | None = None,
            bundle_checks: list[dict[str, Any]] | None = None,
            outside: dict[str, Any] | None = None) -> dict[str, Any]:
    """The figures of the period. ``runs``: the period's runs (any order; ``Run.unverifiable`` set by
    the bundle check); ``control_info``: control id -> {title, severity} (latest run's);
    ``failing_hosts``: (run id, control) -> failing hosts, for the open failures (optional);
    ``bundle_checks``: ``bundle_check.check_runs``'s records (None: not checked, --no-bundle-check);
    ``outside``: runs of the history left out (``runs_outside``)."""
    start, period_end, last_day = period_bounds(date_from, date_to, as_of)
    runs = runs_in_period(runs, start, period_end)
    control_info = control_info or {}
    failing_hosts = failing_hosts or {}

    run_outcomes, ctl_seq = control_sequences(runs)
    measures = [it for it in outline.items if not it.get("group")]
    attested = attestation_outcomes(runs, measures)
    for i, r in enumerate(runs):                  # an unverifiable run's attestations are not evidence either
        if r.unverifiable:
            for seq in attested.values():
                if seq[i]:
                    seq[i] = NOT_VERIFIED
    item_seq = {it["id"]: item_sequence(it.get("controls") or [], run_outcomes, attested[it["id"]])
                for it in measures}
    cal = Calendar(date_from, last_day, runs)
    daily = cal.daily(run_outcomes, item_seq.values())
    gap_list = gaps(daily)

    def with_hosts(fig: dict, cids: list[str]) -> dict:
        """Open failures get the hosts failing in their last failing run (when known)."""
        for e in fig["open"]:
            e["hosts"] = sorted({h for c in cids for h in failing_hosts.get((e["last_failed_run"], c), [])})
        return fig

    items_of_control: dict[str, list[str]] = {}
    for it in measures:
        for c in it.get("controls") or []:
            items_of_control.setdefault(c, []).append(it["id"])

    items_out = []
    for it in outline.items:
        e = {k: it.get(k) for k in ("id", "depth", "parents", "title", "group", "category", "art32",
                                    "controls", "text")}
        if not it.get("group"):
            ctls = it.get("controls") or []
            e["organisational"] = not ctls
            if not ctls and not item_seq[it["id"]]:
                e["figures"] = None
                e["weekly"] = None
                e["outcomes"] = None
            else:
                e["figures"] = with_hosts(series_figures(item_seq[it["id"]], runs, period_end), ctls)
                e["weekly"] = cal.weekly(item_seq[it["id"]])
                e["outcomes"] = cal.letters(item_seq[it["id"]])
        items_out.append(e)

    controls_out = []
    for cid in sorted(ctl_seq):
        info = control_info.get(cid, {})
        controls_out.append({
            "id": cid, "title": info.get("title"), "severity": info.get("severity"),
            "items": items_of_control.get(cid, []),
            "figures": with_hosts(series_figures(ctl_seq[cid], runs, period_end), [cid]),
            "weekly": cal.weekly(ctl_seq[cid]),
            "outcomes": cal.letters(ctl_seq[cid]),
        })

    checks = {c["run_id"]: c for c in bundle_checks or []}
    run_list = [{"run_id": r.run_id, "started_at": r.started_at, "ended_at": r.ended_at, "state": r.state,
                 "inventory_key": r.inventory_key, "hosts_planned": r.n_planned, "hosts_checked": r.n_checked,
                 "controls": len(r.controls), "successful": r.successful, "manifest_sha256": r.manifest_sha256,
                 "tool_version": r.tool_version, "bundle_check": checks.get(r.run_id)}
                for r in runs]
    exc_life = exception_life(runs)
    technical = [x for x in items_out if not x.get("group") and not x.get("organisational")]
    classes = {c: [x["id"] for x in technical if headline_class(x["figures"]) == c] for c in HEADLINE}
    judged_all = [x for x in items_out if x.get("figures") and x["figures"]["judged"]]
    # the headline figures are the technical measures'; organisational ones (judged by attestations) apart
    judged_items = [x for x in judged_all if not x.get("organisational")]
    judged_org = [x for x in judged_all if x.get("organisational")]
    return {
        "audit_version": AUDIT_VERSION,
        "period": {"from": date_from.isoformat(), "to": date_to.isoformat(),
                   "evaluated_to": iso_utc(period_end), "days": cal.n_days,
                   **period_cover(runs, date_from, last_day, outside or {}, date_to)},
        "inventory": inventory,
        "catalog": {**outline.info, "source": outline.source},
        "runs": {
            "total": len(runs),
            "complete": sum(r.state == "complete" for r in runs),
            "interrupted": sum(r.state == "interrupted" for r in runs),
            "running": sum(r.state == "running" for r in runs),
            "successful": sum(r.successful for r in runs),
            "with_unchecked_hosts": sum(r.n_checked < r.n_planned for r in runs),
            "first": runs[0].started_at if runs else None, "last": runs[-1].started_at if runs else None,
            "digest_sha256": runs_digest(runs),
            "bundle_check": bundle_checks is not None,
            "verified": sum(1 for c in bundle_checks or [] if c["status"] != UNVERIFIABLE),
            "unverifiable": sum(1 for c in bundle_checks or [] if c["status"] == UNVERIFIABLE),
            "signatures": signature_summary(bundle_checks),
            "list": run_list,
        },
        "gaps": {"days_without_successful_scan": sum(g["days"] for g in gap_list),
                 "longest_days": max((g["days"] for g in gap_list), default=0), "list": gap_list},
        "overall": {
            "headline": {"measures": len(technical), "classes": classes,
                         "not_held_failed": len(classes["fixed"]) + len(classes["failing"]),
                         "not_held_incomplete": len(classes["incomplete"]) + len(classes["never_verified"])},
            "items_judged": len(judged_items),
            "items_held_every_run": sum(1 for x in judged_items if x["figures"]["held"] == x["figures"]["judged"]),
            "items_held_with_exceptions": sum(1 for x in judged_items if x["figures"]["held_with_exceptions"]),
            "organisational_judged": len(judged_org),
            "organisational_attested_every_run": sum(1 for x in judged_org
                                                     if x["figures"]["held"] == x["figures"]["judged"]),
            "items_with_failures": sum(1 for x in judged_items if x["figures"]["failed"]),
            "items_open": sum(1 for x in judged_items if x["figures"]["open"]),
            "controls_judged": sum(1 for c in controls_out if c["figures"]["judged"]),
            "controls_open": sum(1 for c in controls_out if c["figures"]["open"]),
            "controls_held_with_exceptions": sum(1 for c in controls_out if c["figures"]["held_with_exceptions"]),
            "outcomes": {"items": {o: sum((x["figures"] or {}).get(o, 0) for x in items_out if not x.get("group"))
                                   for o in JUDGED},
                         "controls": {o: sum(c["figures"][o] for c in controls_out) for o in JUDGED}},
            "exceptions": len(exc_life), "exceptions_expired": sum(1 for x in exc_life if x["expired_at"]),
            "exceptions_renewed": sum(1 for x in exc_life if x["renewed_by"]),
            "episodes": sum(len(c["figures"]["episodes"]) for c in controls_out),
        },
        "items": items_out,
        "controls": controls_out,
        "exceptions": exc_life,
        "attestations": attestation_validity(runs, measures),
        "deviations": deviations_seen(runs),
        "hosts": hosts_seen(runs),
        "series": {"days": daily, "weeks": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in cal.weeks]},
    }


def period_cover(runs: list[Run], date_from: date, last_day: date, outside: dict[str, Any],
                 date_to: date | None = None) -> dict[str, Any]:
    """What the runs cover of the requested period: first and last run's day, the requested days before
    the first and after the last run, and warnings (requested days without runs, requested days after
    the evaluation time, runs left out)."""
    later = []
    if date_to is not None and date_to > last_day:
        later = [{"kind": "not_evaluated", "n": (date_to - last_day).days,
                  "from": date.fromordinal(last_day.toordinal() + 1).isoformat(), "to": date_to.isoformat()}]
    if not runs:
        return {"covered": None, "days_before_first_run": None, "days_after_last_run": None,
                "warnings": [{"kind": "no_runs", "n": (last_day - date_from).days + 1}] + later + _outside(outside)}
    first, last = date.fromisoformat(runs[0].day), date.fromisoformat(runs[-1].day)
    before, after = (first - date_from).days, (last_day - last).days
    warnings = []
    if before:
        warnings.append({"kind": "before_first_run", "n": before, "from": date_from.isoformat(),
                         "to": date.fromordinal(first.toordinal() - 1).isoformat()})
    if after:
        warnings.append({"kind": "after_last_run", "n": after,
                         "from": date.fromordinal(last.toordinal() + 1).isoformat(), "to": last_day.isoformat()})
    return {"covered": {"from": runs[0].started_at, "to": runs[-1].started_at}, "days_before_first_run": before,
            "days_after_last_run": after, "warnings": warnings + later + _outside(outside)}


def _outside(outside: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"kind": k, "n": len(v), "first": v[0], "last": v[-1]} for k, v in outside.items() if v]


def runs_outside(starts: list[str], start: datetime, period_end: datetime, requested_end: datetime
                 ) -> dict[str, list[str]]:
    """Start times of the history's runs (of the inventory) left out: before the period, after it, and
    inside the requested days but after the evaluated end (``as_of``)."""
    out: dict[str, list[str]] = {"before_period": [], "after_evaluated_end": [], "after_period": []}
    for s in starts:
        t = parse_iso_utc(s)
        k = ("before_period" if t < start else "after_period" if t >= requested_end
             else "after_evaluated_end" if t >= period_end else None)
        if k:
            out[k].append(s)
    return out


def signature_summary(checks: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Of the runs checked: how many bundles were signed by an allowed signer (good), signed and not
    checked against anyone (unchecked), unsigned, bad, or could not be looked at (unknown); and by whom."""
    if checks is None:
        return None
    out: dict[str, Any] = {k: 0 for k in ("good", "unchecked", "unsigned", "bad", "unknown")}
    by: set[str] = set()
    for c in checks:
        sig = c.get("signature") or {}
        st = sig.get("status") if sig.get("status") in out else "unknown"
        out[st] += 1
        if sig.get("by") and st in ("good", "unchecked"):
            by.add(sig["by"])
    out["by"] = sorted(by)
    out["policy"] = None          # the allowed-signers file, when one was required (set by audit())
    return out


def deviations_seen(runs: list[Run]) -> list[dict[str, Any]]:
    """Each deviation from the baseline (host, control, parameter, value) with its first and last run."""
    out: dict[tuple, dict[str, Any]] = {}
    for r in runs:
        for d in r.deviations or []:
            k = (d["host"], d["control"], d["param"], repr(d.get("value")))
            x = out.setdefault(k, {**d, "first_seen": r.started_at, "runs": 0})
            x["last_seen"] = r.started_at
            x["runs"] += 1
    return [out[k] for k in sorted(out)]


def audit(history: str | Path, date_from: date, date_to: date, *, inventory: str | None = None,
          tom: str | Path | None = None, as_of: datetime | None = None, bundle_check: bool = True,
          allowed_signers: str | None = None) -> dict[str, Any]:
    """The audit document: load the period from the history DB (read only), check each run against its
    bundle (unless ``bundle_check`` is False; signatures against ``allowed_signers`` when given),
    compute, add provenance and the digest."""
    as_of = as_of if as_of is not None else datetime.now(timezone.utc)
    start, period_end, _ = period_bounds(date_from, date_to, as_of)
    with HistoryReader(history) as h:
        rows, info = h.period_runs(date_from, date_to, inventory)
        runs = runs_in_period([Run.from_history(r) for r in rows], start, period_end)
        checks = (check_runs(runs, allowed_signers=allowed_signers, history_dir=Path(history).resolve().parent)
                  if bundle_check else None)
        outside = runs_outside(h.run_starts(inventory), start, period_end, period_bounds(date_from, date_to, None)[1])
        outline = outline_from_file(tom) if tom else (outline_from_history(h, runs) or outline_from_file(None))
        doc = compute(runs, outline, date_from, date_to, inventory=inventory, as_of=as_of, control_info=info,
                      bundle_checks=checks, outside=outside)
        # the failing hosts of open failures: one small query per run concerned
        attach_failing_hosts(doc, h.failing_hosts(open_failures(doc)))
        doc["history"] = {"path": str(Path(history).resolve()), "snapshot_sha256": sha256_file(history)}
    if doc["runs"]["signatures"] is not None and allowed_signers:
        doc["runs"]["signatures"]["policy"] = str(allowed_signers)
    doc["generated"] = generated()
    doc["digest_sha256"] = document_digest(doc)
    return doc


def _ids(section: str, x: dict) -> list[str]:
    return [x["id"]] if section == "controls" else list(x.get("controls") or [])


def open_failures(doc: dict) -> set[tuple[str, str]]:
    """(run id, control) pairs whose failing hosts the open failures of ``doc`` name."""
    return {(e["last_failed_run"], c) for section in ("controls", "items") for x in doc[section]
            for e in (x.get("figures") or {}).get("open", []) for c in _ids(section, x)}


def attach_failing_hosts(doc: dict, fh: dict[tuple[str, str], list[str]]) -> None:
    for section in ("controls", "items"):
        for x in doc[section]:
            for e in (x.get("figures") or {}).get("open", []):
                e["hosts"] = sorted({h for c in _ids(section, x) for h in fh.get((e["last_failed_run"], c), [])})


def generated() -> dict[str, Any]:
    """When and by whom the audit document was made (the run provenance's fields, flattened)."""
    who = provenance.provenance()
    return {"at": iso_utc(datetime.now(timezone.utc)), "tool": who["tool"], "python": who["python"],
            "host": who["scanner"]["host"], "user": who["scanner"]["user"]}
