"""Effectiveness over a period: did the measures hold, run after run, and how fast were failures fixed?

Art. 32(1)(d) GDPR asks for a process that regularly tests the technical measures. This module turns
every run of a period, as the history's queries return it (``hardencheck.records.history``, read only),
into the figures of the annual effectiveness report (``hardencheck audit``; the document is assembled by
``hardencheck.records.audit_document``). It is pure computation: no database, nothing written, and the
same runs, period, catalog and ``as_of`` give the same figures.

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
    ``held_with_exceptions``  verified on every planned host, and every failure was ``waived`` by an
                        active entry of the response register: judged, never counted as held.
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
    its controls was checked); else ``held_with_exceptions`` if any was; else ``held`` if any held; else
    ``not_applicable``. A run with attestations adds its attestation outcome for the measures it has
    entries for (``register_history.attestation_outcomes``: ``held`` when attested, else
    ``not_verified``); an organisational measure (no controls) is judged by it alone, ``not_verified``
    when the run's attestation file has no entry for it, and has no outcome in runs without one.
    This is stricter than the run report's per-run roll-up, which ignores deselected controls next
    to passing ones.

Share held
    ``held ÷ (held + held_with_exceptions + failed + not_verified)`` over the runs where the control
    (item) had one of these four outcomes; ``share_held_or_excepted`` counts both helds. A measure
    never counts as held where it was not verified, and a run that could not verify it is in the
    denominator.

Failure episodes, streaks and time to fix
    An episode starts at a run in which the control (item) failed and lasts until the first later run
    in which it *held*; runs in between that could not verify it (``not_verified``) do not end it
    (nothing showed it fixed), nor do runs where it held only with exceptions (the failure was
    accepted, not fixed; they never start one either), runs where it was not assessed or not
    applicable are passed over. A failure ends when a run shows it held on every planned host of
    that run, so a host taken out of the inventory ends its own failures.
    streak, runs   the runs of the episode (first failing run to the last run before the fix).
    streak, days   UTC calendar days from the first failing run to the last run of the episode,
                   both inclusive.
    time to fix    ``started_at`` of the fixing run minus ``started_at`` of the first failing run.
                   Mean and worst over the episodes fixed within the period. An episode not fixed by
                   the end of the period is *open*; its age is the end of the evaluated period minus
                   its first failing run. An episode whose first run is the first run of the period
                   that judged the control is marked ``from_start``: it may have begun earlier.

Unverifiable runs
    A run whose bundle is missing, altered, unsigned against a signer policy, or whose result counts in
    the history differ from its bundle's results.json (``records.bundle_check``) has ``unverifiable`` set:
    every control of its library is ``not_verified`` in it, and it is not a successful scan. Its history
    rows are not evidence.

Successful scan and gaps in the process
    A successful scan is a run that finished (state ``complete``, not interrupted, not still running)
    and checked at least one host (host status ``ok``). A day without a successful scan started on it
    is a gap day; consecutive gap days form a gap. Unreachable hosts within a successful run are not
    gaps in the process; they are ``not_verified`` outcomes of the controls.

Series
    Per day: runs, successful runs, and the sum over that day's runs of the item and control outcomes;
    and ``pairs``: the results of the day's *last* run (the state the day ended with; several runs a
    day are not summed) as counts over its planned hosts x its controls: pass, waived, fail, error,
    not_checked (a planned pair without a result), not_applicable, skipped, unverifiable (every pair
    of an unverifiable run), and ``total``. The trend chart plots these as percent of ``total``.
    Per week (7-day blocks from ``date_from``; the last may be shorter): per item and control the worst
    outcome of its runs that week (``failed`` > ``not_verified`` > ``held``; ``None``: no judged run).
    Per run: ``outcomes``, one letter per run of ``runs.list`` (H held, W held with exceptions,
    F failed, V not verified, A not applicable, S deselected, ``-`` not in that run's library), so every figure can be
    recomputed from audit.json alone.

Loading
    Done by the history's queries (``History.period_runs``): SQLite aggregates the results per (run,
    control), so this module sees result counts, never result rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

HELD, HELD_WITH_EXCEPTIONS, FAILED, NOT_VERIFIED, NOT_APPLICABLE, NOT_ASSESSED = (
    "held", "held_with_exceptions", "failed", "not_verified", "not_applicable", "not_assessed")
OUTCOMES = (HELD, HELD_WITH_EXCEPTIONS, FAILED, NOT_VERIFIED, NOT_APPLICABLE, NOT_ASSESSED)
JUDGED = (HELD, HELD_WITH_EXCEPTIONS, FAILED, NOT_VERIFIED)
_WORST = {FAILED: 4, NOT_VERIFIED: 3, HELD_WITH_EXCEPTIONS: 2, HELD: 1}
#: one letter per outcome in the ``outcomes`` strings of audit.json ("-": not in that run's library)
LETTER = {HELD: "H", HELD_WITH_EXCEPTIONS: "W", FAILED: "F", NOT_VERIFIED: "V", NOT_APPLICABLE: "A",
          NOT_ASSESSED: "S"}
DAY = 86400

#: an outcome sequence: [(run index, outcome)] in run order, over the runs where the control (item) existed
Seq = list[tuple[int, str]]


# -- input: what the computation needs of each run -------------------------------------------------

@dataclass
class Counts:
    """Result counts of one control in one run, over its hosts."""
    passed: int = 0
    fail: int = 0
    error: int = 0
    not_applicable: int = 0
    skipped: int = 0
    waived: int = 0

    @property
    def n(self) -> int:
        return self.passed + self.fail + self.error + self.not_applicable + self.skipped + self.waived


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
    exceptions: list[dict] | None = None  # the register's entries as used (History.period_runs; v4)
    attestations: list[dict] | None = None  # attestation entries with their status (None: no file)
    deviations: list[dict] | None = None  # deviations from the baseline
    bundle_path: str | None = None        # the run folder as the history recorded it
    #: why the run's figures are not bound to its bundle (``records.bundle_check``); None: bound, or not checked
    unverifiable: str | None = None

    @classmethod
    def from_history(cls, r: dict[str, Any]) -> "Run":
        """A run as ``History.period_runs`` returns it (result counts by status)."""
        return cls(run_id=r["run_id"], started_at=r["started_at"], state=r["state"], hosts=r["hosts"],
                   controls={name: Counts(c["pass"], c["fail"], c["error"], c["not_applicable"], c["skipped"],
                                          c.get("waived") or 0) for name, c in r["controls"].items()},
                   exceptions=r.get("exceptions"), attestations=r.get("attestations"), deviations=r.get("deviations"),
                   inventory_key=r["inventory_key"], ended_at=r["ended_at"], manifest_sha256=r["manifest_sha256"],
                   tool_version=r["tool_version"], tom_sha256=r["tom_sha256"],
                   controls_sha256=r["controls_sha256"], hosts_planned=r["hosts_planned"],
                   bundle_path=r.get("bundle_path"))

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
        return self.state == "complete" and self.n_checked > 0 and not self.unverifiable


def parse_iso_utc(s: str) -> datetime:
    """An ISO-8601 UTC timestamp of results.json (``Z`` or an offset) -> aware datetime."""
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def iso_utc(d: datetime) -> str:
    """An aware datetime -> ``2026-03-01T02:00:00Z``."""
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- outcomes ------------------------------------------------------------------------------------------

def control_outcome(c: Counts, n_planned: int) -> str:
    """The outcome of a control in a run (see the module docstring)."""
    if c.fail:
        return FAILED
    if c.n and c.skipped == c.n:
        return NOT_ASSESSED
    if c.error or c.skipped or c.n < n_planned or n_planned == 0:
        return NOT_VERIFIED
    if c.waived:
        return HELD_WITH_EXCEPTIONS
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
    if HELD_WITH_EXCEPTIONS in s:
        return HELD_WITH_EXCEPTIONS
    if HELD in s:
        return HELD
    return NOT_APPLICABLE


def control_sequences(runs: list[Run]) -> tuple[list[dict[str, str]], dict[str, Seq]]:
    """Per run: control -> outcome; and per control its outcome sequence."""
    ctl_seq: dict[str, Seq] = {}
    run_outcomes: list[dict[str, str]] = []
    for i, r in enumerate(runs):
        outs = {cid: NOT_VERIFIED if r.unverifiable else control_outcome(c, r.n_planned)
                for cid, c in r.controls.items()}
        run_outcomes.append(outs)
        for cid, o in outs.items():
            ctl_seq.setdefault(cid, []).append((i, o))
    return run_outcomes, ctl_seq


def item_sequence(controls: list[str], run_outcomes: list[dict[str, str]],
                  attested: list[str | None] | None = None) -> Seq:
    """The outcome sequence of a TOM item made of ``controls`` (and, per run, its attestation outcome).

    A control deselected in a run (``not_assessed``: e.g. the filesystem walks left out of the nightly
    scan with --skip-tags and run weekly) that was assessed in another run of the period is *not run*
    that night: the item is judged by its other controls there. One never assessed in the period
    keeps the item from being verified (``item_outcome``)."""
    ran = {c for outs in run_outcomes for c, o in outs.items() if c in controls and o != NOT_ASSESSED}
    seq = []
    for i, outs in enumerate(run_outcomes):
        extra = [attested[i]] if attested and attested[i] else []
        got = [(c, outs[c]) for c in controls if c in outs]
        judged = [o for c, o in got if not (o == NOT_ASSESSED and c in ran)]
        o = item_outcome((judged or [NOT_ASSESSED] if got else []) + extra)
        if o is not None:
            seq.append((i, o))
    return seq


# -- the figures of one control or item ---------------------------------------------------------------

def series_figures(seq: Seq, runs: list[Run], period_end: datetime) -> dict[str, Any]:
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
    n_judged = sum(counts[o] for o in JUDGED)
    return {
        "runs": len(seq), "judged": n_judged, **counts,
        "share_held": round(counts[HELD] / n_judged, 6) if n_judged else None,
        "share_held_or_excepted": (round((counts[HELD] + counts[HELD_WITH_EXCEPTIONS]) / n_judged, 6)
                                   if n_judged else None),
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


#: the headline's class of a measure over the period (``headline_class``), in the order the report lists them
HEADLINE = ("held_all_period", "held_with_exceptions", "fixed", "failing", "incomplete", "never_verified")


def headline_class(fig: dict[str, Any] | None) -> str:
    """One class per measure for the annual headline, from its figures:
    ``held_all_period``: judged in at least one run and held in every judged run;
    ``held_with_exceptions``: no failure, no unverified run, held with exceptions in some;
    ``failing``: a failure still open at the end of the period;
    ``fixed``: failed in the period, every failure fixed (held afterwards);
    ``incomplete``: never failed and held in some runs, but not verified in others (incomplete evidence);
    ``never_verified``: neither held nor failed in any run (never checked, or never verifiable).
    ``failing`` and ``fixed`` are the measures not held because of failures; ``incomplete`` and
    ``never_verified`` those not held for want of evidence."""
    if not fig or not fig.get("judged"):
        return "never_verified"
    if fig["open"]:
        return "failing"
    if fig["failed"]:
        return "fixed"
    if fig["held"] == fig["judged"]:
        return "held_all_period"
    if not fig["held"] and not fig["held_with_exceptions"]:
        return "never_verified"
    if fig["not_verified"]:
        return "incomplete"
    return "held_with_exceptions"


def _episode(cur: dict, runs: list[Run], fixed: int | None, period_end: datetime) -> dict[str, Any]:
    first, last = runs[cur["first"]], runs[cur["last"]]
    t0 = parse_iso_utc(first.started_at)
    days = (date.fromisoformat(last.day) - date.fromisoformat(first.day)).days + 1
    if fixed is not None:
        end = parse_iso_utc(runs[fixed].started_at)
    else:
        end = period_end
    return {"since": first.started_at, "since_run": first.run_id, "last_run": last.run_id,
            "fixed_at": runs[fixed].started_at if fixed is not None else None,
            "fixed_run": runs[fixed].run_id if fixed is not None else None,
            "open": fixed is None, "from_start": cur["from_start"],
            "last_failed_run": runs[cur["last_failed"]].run_id,
            "runs": cur["runs"], "failed_runs": cur["failed_runs"], "days": days,
            "seconds": max(0, int((end - t0).total_seconds())), "hosts": []}
