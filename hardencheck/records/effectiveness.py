"""Effectiveness over a period: did the measures hold, run after run, and how fast were failures fixed?

Art. 32(1)(d) GDPR asks for a process that regularly tests the technical measures. This module turns
every run of a period in the run history (``hardencheck.records.history``, read only) into the figures of the
annual effectiveness report (``hardencheck audit``). It is pure computation over the history: nothing
is written, and the same database, period, inventory, catalog and ``as_of`` give the same figures.

Definitions (the report's method section says the same in words)
--------------------------------------------------------------------
Period and days
    A run belongs to the period when it *started* on a UTC day from ``date_from`` to ``date_to``
    (both inclusive); with an inventory key, only runs of that key. The period is evaluated up to
    ``as_of`` (default: now) when that is earlier than the end of ``date_to``: days after it are not
    counted as gaps and open failures are aged up to it. Days are UTC calendar days.

Outcome of a control in a run (the run's planned hosts: every host the run set out to check)
    ``failed``          it failed on at least one host.
    ``not_verified``    no failure, but on at least one planned host it was not shown to hold: an
                        ``error`` result (including hosts that were unreachable or refused), or no
                        result at all (the host was never scanned: run interrupted or still running),
                        or the control was deselected on part of the hosts.
    ``held``            it passed on at least one host, and on every other planned host it passed or
                        was not applicable.
    ``not_applicable``  not applicable on every planned host: left out of the share.
    ``not_assessed``    deselected (``skipped``, by --tags/--control) on every host that has a result:
                        the run did not set out to test it; left out of the share and counted apart.
    A control that is not in a run's control library at all (added later, or removed) has no outcome
    in that run: its figures start with the first run that had it.

Outcome of a TOM item in a run
    Over the item's controls that are in the run's library (the controls the report's catalog names
    for the item): ``failed`` if any failed; else ``not_assessed`` if all were deselected; else
    ``not_verified`` if any was not verified *or deselected* (a measure is held only when every one of
    its controls was checked); else ``held`` if any held; else ``not_applicable``. Items without
    technical controls are organisational and get no figures. This is stricter than the run report's
    per-run roll-up, which ignores deselected controls next to passing ones.

Share held
    ``held ÷ (held + failed + not_verified)`` over the runs where the control (item) had one of
    these three outcomes. A measure never counts as held where it was not verified, and a run that
    could not verify it is in the denominator.

Failure episodes, streaks and time to fix
    An episode starts at a run in which the control (item) failed and lasts until the first later run
    in which it *held*; runs in between that could not verify it (``not_verified``) do not end it
    (nothing showed it fixed), runs where it was not assessed or not applicable are passed over. A
    failure ends when a run shows it held on every planned host of that run, so a host taken out of
    the inventory ends its own failures.
    streak, runs   the runs of the episode (first failing run to the last run before the fix).
    streak, days   UTC calendar days from the first failing run to the last run of the episode,
                   both inclusive.
    time to fix    ``started_at`` of the fixing run minus ``started_at`` of the first failing run.
                   Mean and worst over the episodes fixed within the period. An episode not fixed by
                   the end of the period is *open*; its age is the end of the evaluated period minus
                   its first failing run. An episode whose first run is the first run of the period
                   that judged the control is marked ``from_start``: it may have begun earlier.

Successful scan and gaps in the process
    A successful scan is a run that finished (state ``complete``, not interrupted, not still running)
    and checked at least one host (host status ``ok``). A day without a successful scan started on it
    is a gap day; consecutive gap days form a gap. Unreachable hosts within a successful run are not
    gaps in the process; they are ``not_verified`` outcomes of the controls.

Series
    Per day: runs, successful runs, and the sum over that day's runs of the item and control outcomes.
    Per week (7-day blocks from ``date_from``; the last may be shorter): per item and control the worst
    outcome of its runs that week (``failed`` > ``not_verified`` > ``held``; ``None``: no judged run).
    Per run: ``outcomes``, one letter per run of ``runs.list`` (H held, F failed, V not verified,
    A not applicable, S deselected, ``-`` not in that run's library), so every figure can be
    recomputed from audit.json alone.

Loading
    The results table (365 runs x 50 hosts x 60 controls = 1.1M rows a year) is never loaded row by
    row into Python: SQLite aggregates it per (run, control), one query per run over the primary key
    (~22k rows a year in all); run hosts and run controls are streamed; the only per-result query
    fetches the failing hosts of open failures.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from hardencheck.errors import ConfigError
from hardencheck.records import provenance
from hardencheck.records.files import sha256_file

HELD, FAILED, NOT_VERIFIED, NOT_APPLICABLE, NOT_ASSESSED = (
    "held", "failed", "not_verified", "not_applicable", "not_assessed")
OUTCOMES = (HELD, FAILED, NOT_VERIFIED, NOT_APPLICABLE, NOT_ASSESSED)
JUDGED = (HELD, FAILED, NOT_VERIFIED)
_WORST = {FAILED: 3, NOT_VERIFIED: 2, HELD: 1}
#: one letter per outcome in the ``outcomes`` strings of audit.json ("-": not in that run's library)
LETTER = {HELD: "H", FAILED: "F", NOT_VERIFIED: "V", NOT_APPLICABLE: "A", NOT_ASSESSED: "S"}
AUDIT_VERSION = 1
DAY = 86400


# -- input: what the computation needs of each run -------------------------------------------------

@dataclass
class Counts:
    """Result counts of one control in one run, over its hosts."""
    passed: int = 0
    fail: int = 0
    error: int = 0
    not_applicable: int = 0
    skipped: int = 0

    @property
    def n(self) -> int:
        return self.passed + self.fail + self.error + self.not_applicable + self.skipped


@dataclass
class Run:
    """One run of the period as the computation sees it."""
    run_id: str
    started_at: str                       # ISO-8601 UTC, "2026-03-01T02:00:00Z"
    state: str                            # complete | interrupted | running
    hosts: dict[str, str]                 # planned host -> run_hosts status (ok | error | not_scanned)
    controls: dict[str, Counts]           # the run's control library -> result counts (zero if none)
    inventory_key: str = ""
    ended_at: str | None = None
    manifest_sha256: str | None = None
    tool_version: str | None = None
    tom_sha256: str | None = None
    controls_sha256: str | None = None
    hosts_planned: int | None = None      # runs.hosts_planned, when larger than the hosts known

    @property
    def day(self) -> str:
        return self.started_at[:10]

    @property
    def n_planned(self) -> int:
        return max(len(self.hosts), self.hosts_planned or 0)

    @property
    def n_checked(self) -> int:
        return sum(1 for s in self.hosts.values() if s == "ok")

    @property
    def successful(self) -> bool:
        return self.state == "complete" and self.n_checked > 0


def parse_time(s: str) -> datetime:
    """An ISO-8601 UTC timestamp of results.json (``Z`` or an offset) -> aware datetime."""
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _iso(d: datetime) -> str:
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def control_outcome(c: Counts, n_planned: int) -> str:
    """The outcome of a control in a run (see the module docstring)."""
    if c.fail:
        return FAILED
    if c.n and c.skipped == c.n:
        return NOT_ASSESSED
    if c.error or c.skipped or c.n < n_planned or n_planned == 0:
        return NOT_VERIFIED
    if c.passed:
        return HELD
    return NOT_APPLICABLE


def item_outcome(outcomes: list[str]) -> str | None:
    """The outcome of a TOM item in a run from its controls' outcomes there (None: none in the run)."""
    if not outcomes:
        return None
    s = set(outcomes)
    if FAILED in s:
        return FAILED
    if s == {NOT_ASSESSED}:
        return NOT_ASSESSED
    if NOT_VERIFIED in s or NOT_ASSESSED in s:
        return NOT_VERIFIED
    if HELD in s:
        return HELD
    return NOT_APPLICABLE


# -- the figures of one control or item ---------------------------------------------------------------

def series_figures(seq: list[tuple[int, str]], runs: list[Run], period_end: datetime) -> dict[str, Any]:
    """Figures from one control's (item's) outcomes: ``seq`` = [(run index, outcome)] in run order,
    outcomes of every run where it existed."""
    counts = {o: 0 for o in OUTCOMES}
    for _, o in seq:
        counts[o] += 1
    judged = [(i, o) for i, o in seq if o in JUDGED]
    episodes: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    for k, (i, o) in enumerate(judged):
        if cur is None:
            if o == FAILED:
                cur = {"first": i, "last": i, "last_failed": i, "runs": 1, "failed_runs": 1, "from_start": k == 0}
        elif o == HELD:
            episodes.append(_episode(cur, runs, fixed=i, period_end=period_end))
            cur = None
        else:
            cur["last"] = i
            cur["runs"] += 1
            if o == FAILED:
                cur["failed_runs"] += 1
                cur["last_failed"] = i
    if cur is not None:
        episodes.append(_episode(cur, runs, fixed=None, period_end=period_end))
    fixed = [e for e in episodes if not e["open"]]
    n_judged = counts[HELD] + counts[FAILED] + counts[NOT_VERIFIED]
    return {
        "runs": len(seq), "judged": n_judged, **counts,
        "share_held": round(counts[HELD] / n_judged, 6) if n_judged else None,
        "first_run": runs[seq[0][0]].started_at if seq else None,
        "last_run": runs[seq[-1][0]].started_at if seq else None,
        "last_outcome": seq[-1][1] if seq else None,
        "episodes": episodes,
        "longest_streak": {"runs": max((e["runs"] for e in episodes), default=0),
                           "days": max((e["days"] for e in episodes), default=0)},
        "time_to_fix": {
            "fixed": len(fixed),
            "mean_seconds": round(sum(e["seconds"] for e in fixed) / len(fixed)) if fixed else None,
            "worst_seconds": max((e["seconds"] for e in fixed), default=None),
            "mean_days": round(sum(e["seconds"] for e in fixed) / len(fixed) / DAY, 2) if fixed else None,
            "worst_days": round(max(e["seconds"] for e in fixed) / DAY, 2) if fixed else None,
        },
        "open": [e for e in episodes if e["open"]],
    }


def _episode(cur: dict, runs: list[Run], fixed: int | None, period_end: datetime) -> dict[str, Any]:
    first, last = runs[cur["first"]], runs[cur["last"]]
    t0 = parse_time(first.started_at)
    days = (date.fromisoformat(last.day) - date.fromisoformat(first.day)).days + 1
    if fixed is not None:
        end = parse_time(runs[fixed].started_at)
    else:
        end = period_end
    return {"since": first.started_at, "since_run": first.run_id, "last_run": last.run_id,
            "fixed_at": runs[fixed].started_at if fixed is not None else None,
            "fixed_run": runs[fixed].run_id if fixed is not None else None,
            "open": fixed is None, "from_start": cur["from_start"],
            "last_failed_run": runs[cur["last_failed"]].run_id,
            "runs": cur["runs"], "failed_runs": cur["failed_runs"], "days": days,
            "seconds": max(0, int((end - t0).total_seconds())), "hosts": []}


# -- the computation -----------------------------------------------------------------------------------

@dataclass
class Catalog:
    """The TOM structure of the report: the flat item list of results.json ``tom.items`` (id, depth,
    parents, title, group; measures: category, art32, controls, text) and the catalog identity."""
    info: dict[str, Any]
    items: list[dict[str, Any]]
    source: str = ""                      # where it came from: --tom file, history, default


def catalog_from_file(path: str | Path | None) -> Catalog:
    from hardencheck.judge import tom

    cat = tom.load_catalog(path)
    items = []
    for it, depth, parents in cat.walk():
        e: dict[str, Any] = {"id": it.id, "depth": depth, "parents": parents, "title": it.title.model_dump(),
                             "group": it.items is not None}
        if it.items is None:
            e.update({"category": it.category, "art32": it.art32, "controls": list(it.controls or []),
                      "text": it.text.model_dump() if it.text else None})
        items.append(e)
    return Catalog(tom.document(cat), items, source=str(path) if path else "default")


def compute(runs: list[Run], catalog: Catalog, date_from: date, date_to: date, *,
            inventory: str | None = None, as_of: datetime | None = None,
            control_info: dict[str, dict] | None = None,
            failing_hosts: dict[tuple[str, str], list[str]] | None = None) -> dict[str, Any]:
    """The figures of the period. ``runs``: the period's runs (any order); ``control_info``: control
    id -> {title, severity} (latest run's); ``failing_hosts``: (run id, control) -> failing hosts, for
    the open failures (optional)."""
    if date_to < date_from:
        raise ConfigError(f"--to {date_to} is before --from {date_from}", field="--to")
    start = datetime(date_from.year, date_from.month, date_from.day, tzinfo=timezone.utc)
    end = datetime(date_to.year, date_to.month, date_to.day, tzinfo=timezone.utc) + timedelta(days=1)
    period_end = min(end, as_of) if as_of is not None else end
    if period_end <= start:
        raise ConfigError(f"the period starts after {_iso(period_end)}: nothing to evaluate", field="--from")
    last_day = (period_end - timedelta(microseconds=1)).date()
    # runs started after the evaluated end (as_of) or outside the period are not counted
    runs = sorted((r for r in runs if start <= parse_time(r.started_at) < period_end),
                  key=lambda r: (r.started_at, r.run_id))
    control_info = control_info or {}
    failing_hosts = failing_hosts or {}

    # outcomes per control per run -------------------------------------------------------------------
    ctl_seq: dict[str, list[tuple[int, str]]] = {}
    run_outcomes: list[dict[str, str]] = []
    for i, r in enumerate(runs):
        outs = {cid: control_outcome(c, r.n_planned) for cid, c in r.controls.items()}
        run_outcomes.append(outs)
        for cid, o in outs.items():
            ctl_seq.setdefault(cid, []).append((i, o))

    # outcomes per item per run -----------------------------------------------------------------------
    measures = [it for it in catalog.items if not it.get("group")]
    item_seq: dict[str, list[tuple[int, str]]] = {}
    for it in measures:
        ctls = it.get("controls") or []
        seq = []
        for i, outs in enumerate(run_outcomes):
            o = item_outcome([outs[c] for c in ctls if c in outs])
            if o is not None:
                seq.append((i, o))
        item_seq[it["id"]] = seq

    # days and weeks ------------------------------------------------------------------------------------
    n_days = (last_day - date_from).days + 1
    days = [date_from + timedelta(days=k) for k in range(n_days)]
    day_index = {d.isoformat(): k for k, d in enumerate(days)}
    weeks = [(days[k], days[min(k + 6, n_days - 1)]) for k in range(0, n_days, 7)]

    def week_of(i: int) -> int | None:
        k = day_index.get(runs[i].day)
        return None if k is None else k // 7

    def letters(seq: list[tuple[int, str]]) -> str:
        out = ["-"] * len(runs)
        for i, o in seq:
            out[i] = LETTER[o]
        return "".join(out)

    def weekly(seq: list[tuple[int, str]]) -> list[str | None]:
        out: list[str | None] = [None] * len(weeks)
        for i, o in seq:
            w = week_of(i)
            if w is not None and o in _WORST and _WORST[o] > _WORST.get(out[w] or "", 0):
                out[w] = o
        return out

    daily = [{"date": d.isoformat(), "runs": 0, "successful": 0,
              "items": {o: 0 for o in JUDGED}, "controls": {o: 0 for o in JUDGED}} for d in days]
    for i, r in enumerate(runs):
        k = day_index.get(r.day)
        if k is None:
            continue                      # started after as_of
        daily[k]["runs"] += 1
        daily[k]["successful"] += r.successful
        for o in run_outcomes[i].values():
            if o in JUDGED:
                daily[k]["controls"][o] += 1
    for seq in item_seq.values():
        for i, o in seq:
            k = day_index.get(runs[i].day)
            if k is not None and o in JUDGED:
                daily[k]["items"][o] += 1

    gaps: list[dict[str, Any]] = []
    for d in daily:
        if d["successful"] == 0:
            if gaps and gaps[-1]["_next"] == d["date"]:
                gaps[-1]["to"] = d["date"]
                gaps[-1]["days"] += 1
            else:
                gaps.append({"from": d["date"], "to": d["date"], "days": 1})
            gaps[-1]["_next"] = (date.fromisoformat(d["date"]) + timedelta(days=1)).isoformat()
    for g in gaps:
        del g["_next"]

    # figures ---------------------------------------------------------------------------------------------
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
    for it in catalog.items:
        e = {k: it.get(k) for k in ("id", "depth", "parents", "title", "group", "category", "art32",
                                    "controls", "text")}
        if not it.get("group"):
            ctls = it.get("controls") or []
            if not ctls:
                e["organisational"] = True
                e["figures"] = None
                e["weekly"] = None
                e["outcomes"] = None
            else:
                e["organisational"] = False
                e["figures"] = with_hosts(series_figures(item_seq[it["id"]], runs, period_end), ctls)
                e["weekly"] = weekly(item_seq[it["id"]])
                e["outcomes"] = letters(item_seq[it["id"]])
        items_out.append(e)

    controls_out = []
    for cid in sorted(ctl_seq):
        info = control_info.get(cid, {})
        controls_out.append({
            "id": cid, "title": info.get("title"), "severity": info.get("severity"),
            "items": items_of_control.get(cid, []),
            "figures": with_hosts(series_figures(ctl_seq[cid], runs, period_end), [cid]),
            "weekly": weekly(ctl_seq[cid]),
            "outcomes": letters(ctl_seq[cid]),
        })

    hosts: dict[str, dict[str, Any]] = {}
    for r in runs:
        for h, s in r.hosts.items():
            x = hosts.setdefault(h, {"name": h, "first_seen": r.started_at, "last_seen": r.started_at,
                                     "runs": 0, "checked": 0})
            x["last_seen"] = r.started_at
            x["runs"] += 1
            x["checked"] += s == "ok"

    run_list = [{"run_id": r.run_id, "started_at": r.started_at, "ended_at": r.ended_at, "state": r.state,
                 "inventory_key": r.inventory_key, "hosts_planned": r.n_planned, "hosts_checked": r.n_checked,
                 "controls": len(r.controls), "successful": r.successful, "manifest_sha256": r.manifest_sha256,
                 "tool_version": r.tool_version}
                for r in runs]
    judged_items = [x for x in items_out if x.get("figures") and x["figures"]["judged"]]
    return {
        "audit_version": AUDIT_VERSION,
        "period": {"from": date_from.isoformat(), "to": date_to.isoformat(),
                   "evaluated_to": _iso(period_end), "days": n_days},
        "inventory": inventory,
        "catalog": {**catalog.info, "source": catalog.source},
        "runs": {
            "total": len(runs),
            "complete": sum(r.state == "complete" for r in runs),
            "interrupted": sum(r.state == "interrupted" for r in runs),
            "running": sum(r.state == "running" for r in runs),
            "successful": sum(r.successful for r in runs),
            "with_unchecked_hosts": sum(r.n_checked < r.n_planned for r in runs),
            "first": runs[0].started_at if runs else None, "last": runs[-1].started_at if runs else None,
            "digest_sha256": runs_digest(runs),
            "list": run_list,
        },
        "gaps": {"days_without_successful_scan": sum(g["days"] for g in gaps),
                 "longest_days": max((g["days"] for g in gaps), default=0), "list": gaps},
        "overall": {
            "items_judged": len(judged_items),
            "items_held_every_run": sum(1 for x in judged_items if x["figures"]["held"] == x["figures"]["judged"]),
            "items_with_failures": sum(1 for x in judged_items if x["figures"]["failed"]),
            "items_open": sum(1 for x in judged_items if x["figures"]["open"]),
            "controls_judged": sum(1 for c in controls_out if c["figures"]["judged"]),
            "controls_open": sum(1 for c in controls_out if c["figures"]["open"]),
            "episodes": sum(len(c["figures"]["episodes"]) for c in controls_out),
        },
        "items": items_out,
        "controls": controls_out,
        "hosts": sorted(hosts.values(), key=lambda h: h["name"]),
        "series": {"days": daily, "weeks": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in weeks]},
    }


def runs_digest(runs: Iterable[Run]) -> str:
    """SHA-256 over the summarised runs: one line per run in order, ``run_id TAB started_at TAB state
    TAB manifest_sha256`` (``-`` when the run has none), newline-terminated. With the bundles'
    manifests it ties the report to exactly the runs it counts."""
    h = hashlib.sha256()
    for r in runs:
        h.update(f"{r.run_id}\t{r.started_at}\t{r.state}\t{r.manifest_sha256 or '-'}\n"
                 .encode("utf-8", "surrogatepass"))
    return h.hexdigest()


# -- loading from the history database ---------------------------------------------------------------

def connect_readonly(path: str | Path) -> sqlite3.Connection:
    p = Path(path)
    if not p.is_file():
        raise ConfigError("no run history there", file=str(path))
    from hardencheck.records.history import SCHEMA_VERSION

    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"not a run history database: {e}", file=str(path)) from None
    if version > SCHEMA_VERSION:
        conn.close()
        raise ConfigError(f"the history database has schema version {version}; this hardencheck knows versions "
                          f"up to {SCHEMA_VERSION} (upgrade hardencheck)", file=str(path))
    return conn


def load_runs(conn: sqlite3.Connection, date_from: date, date_to: date, inventory: str | None = None
              ) -> tuple[list[Run], dict[str, dict], dict[int, Run]]:
    """The period's runs with their hosts and per-control result counts; and control id -> {title,
    severity} as the latest run of the period has them. Aggregated in SQLite (see the docstring)."""
    lo = date_from.isoformat()
    hi = (date_to + timedelta(days=1)).isoformat()
    where = "u.started_at >= ? AND u.started_at < ?" + (" AND u.inventory_key = ?" if inventory is not None else "")
    params: tuple = (lo, hi) + ((inventory,) if inventory is not None else ())
    by_id: dict[int, Run] = {}
    for (rid, run_id, key, started, ended, state, manifest, planned, tool, tom_sha, ctl_sha) in conn.execute(
            "SELECT u.id, u.run_id, u.inventory_key, u.started_at, u.ended_at, u.state, u.manifest_sha256, "
            "u.hosts_planned, u.tool_version, u.tom_sha256, u.controls_sha256 FROM runs u WHERE " + where +
            " ORDER BY u.started_at, u.run_id", params):
        by_id[rid] = Run(run_id=run_id, started_at=started, state=state, hosts={}, controls={},
                         inventory_key=key, ended_at=ended, manifest_sha256=manifest, tool_version=tool,
                         tom_sha256=tom_sha, controls_sha256=ctl_sha, hosts_planned=planned)
    if not by_id:
        return [], {}, {}
    sub = "SELECT u.id FROM runs u WHERE " + where
    for rid, name, status in conn.execute(
            "SELECT rh.run, h.name, rh.status FROM run_hosts rh JOIN hosts h ON h.id = rh.host "
            f"WHERE rh.run IN ({sub})", params):
        by_id[rid].hosts[name] = status
    info: dict[str, dict] = {}
    names: dict[int, str] = {}
    order = {rid: k for k, rid in enumerate(by_id)}
    latest: dict[str, int] = {}
    for rid, cid, cname, severity, title in conn.execute(
            "SELECT rc.run, rc.control, c.name, rc.severity, rc.title FROM run_controls rc "
            f"JOIN controls c ON c.id = rc.control WHERE rc.run IN ({sub})", params):
        names[cid] = cname
        by_id[rid].controls[cname] = Counts()
        if order[rid] >= latest.get(cname, -1):
            latest[cname] = order[rid]
            info[cname] = {"title": title, "severity": severity}
    # one aggregate per run: each sorts ~3,000 rows in memory (a single GROUP BY run, control over the
    # year sorts 1.1M rows in a temporary b-tree: about twice as slow)
    for rid, run in by_id.items():
        for cid, p, f, e, na, sk in conn.execute(
                "SELECT r.control, SUM(r.status = 'pass'), SUM(r.status = 'fail'), SUM(r.status = 'error'), "
                "SUM(r.status = 'not_applicable'), SUM(r.status = 'skipped') FROM results r "
                "WHERE r.run = ? GROUP BY r.control", (rid,)):
            name = names.get(cid)
            if name is None:              # a result for a control missing from run_controls
                name = names[cid] = conn.execute("SELECT name FROM controls WHERE id = ?", (cid,)).fetchone()[0]
            run.controls[name] = Counts(p, f, e, na, sk)
    return list(by_id.values()), info, by_id


def _failing_hosts(conn: sqlite3.Connection, by_id: dict[int, Run], wanted: set[tuple[str, str]]
                   ) -> dict[tuple[str, str], list[str]]:
    if not wanted:
        return {}
    rid_of = {r.run_id: rid for rid, r in by_id.items()}
    out: dict[tuple[str, str], list[str]] = {}
    for run_id in sorted({w[0] for w in wanted}):
        for cname, hname in conn.execute(
                "SELECT c.name, h.name FROM results r JOIN controls c ON c.id = r.control "
                "JOIN hosts h ON h.id = r.host WHERE r.run = ? AND r.status = 'fail'", (rid_of[run_id],)):
            if (run_id, cname) in wanted:
                out.setdefault((run_id, cname), []).append(hname)
    return out


def history_catalog(conn: sqlite3.Connection, runs: list[Run]) -> Catalog | None:
    """The TOM catalog recorded with the latest run of the period that has one with its items."""
    for r in reversed(runs):
        if not r.tom_sha256:
            continue
        row = conn.execute("SELECT catalog FROM tom_catalogs WHERE sha256 = ?", (r.tom_sha256,)).fetchone()
        if not row:
            continue
        doc = json.loads(row[0])
        if doc.get("items"):
            return Catalog(doc.get("catalog") or {}, doc["items"], source=f"history (run {r.run_id})")
    return None


def audit(history: str | Path, date_from: date, date_to: date, *, inventory: str | None = None,
          tom: str | Path | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """The audit document: load the period from the history DB, compute, add provenance."""
    conn = connect_readonly(history)
    try:
        runs, info, by_id = load_runs(conn, date_from, date_to, inventory)
        catalog = catalog_from_file(tom) if tom else (history_catalog(conn, runs) or catalog_from_file(None))
        doc = compute(runs, catalog, date_from, date_to, inventory=inventory,
                      as_of=as_of if as_of is not None else datetime.now(timezone.utc), control_info=info)
        # the failing hosts of open failures: one small query per run concerned
        attach_failing_hosts(doc, _failing_hosts(conn, by_id, open_failures(doc)))
        doc["history"] = {"path": str(Path(history).resolve()), "snapshot_sha256": sha256_file(history)}
    finally:
        conn.close()
    doc["generated"] = generated()
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
    who = provenance.scanner()
    return {"at": _iso(datetime.now(timezone.utc)), "tool": provenance.tool(),
            "python": platform.python_version(), "host": who["host"], "user": who["user"]}
