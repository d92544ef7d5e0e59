"""The period of the annual report: its bounds, days, weeks, gaps in the testing process, the hosts seen,
the daily shares of hosts x controls, and the digests that tie the report to its runs and figures.

Split from ``effectiveness`` (the outcomes and figures of one control or measure); the definitions are
in that module's docstring. Pure computation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hardencheck.errors import ConfigError
from hardencheck.records.effectiveness import (
    _WORST,
    JUDGED,
    LETTER,
    Run,
    Seq,
    iso_utc,
    parse_iso_utc,
)
from hardencheck.records.files import sha256_bytes

# -- the period: its bounds, days, weeks and gaps -----------------------------------------------------

def period_bounds(date_from: date, date_to: date, as_of: datetime | None) -> tuple[datetime, datetime, date]:
    """(start, evaluated end, last evaluated day) of the period from ``date_from`` to ``date_to``
    (UTC days, inclusive) evaluated up to ``as_of``."""
    if date_to < date_from:
        raise ConfigError(f"--to {date_to} is before --from {date_from}", field="--to")
    start = datetime(date_from.year, date_from.month, date_from.day, tzinfo=timezone.utc)
    end = datetime(date_to.year, date_to.month, date_to.day, tzinfo=timezone.utc) + timedelta(days=1)
    period_end = min(end, as_of) if as_of is not None else end
    if period_end <= start:
        raise ConfigError(f"the period starts after {iso_utc(period_end)}: nothing to evaluate", field="--from")
    return start, period_end, (period_end - timedelta(microseconds=1)).date()


def runs_in_period(runs: Iterable[Run], start: datetime, period_end: datetime) -> list[Run]:
    """The runs started in [start, period_end), in order (runs after ``as_of`` are not counted)."""
    return sorted((r for r in runs if start <= parse_iso_utc(r.started_at) < period_end),
                  key=lambda r: (r.started_at, r.run_id))


class Calendar:
    """The evaluated days of the period and its weeks (7-day blocks from the first day)."""

    def __init__(self, date_from: date, last_day: date, runs: list[Run]):
        self.n_days = (last_day - date_from).days + 1
        self.days = [date_from + timedelta(days=k) for k in range(self.n_days)]
        self.day_index = {d.isoformat(): k for k, d in enumerate(self.days)}
        self.weeks = [(self.days[k], self.days[min(k + 6, self.n_days - 1)]) for k in range(0, self.n_days, 7)]
        self.runs = runs

    def week_of(self, i: int) -> int | None:
        k = self.day_index.get(self.runs[i].day)
        return None if k is None else k // 7

    def letters(self, seq: Seq) -> str:
        """One letter per run of the period (``-``: not in that run)."""
        out = ["-"] * len(self.runs)
        for i, o in seq:
            out[i] = LETTER[o]
        return "".join(out)

    def weekly(self, seq: Seq) -> list[str | None]:
        """Per week the worst judged outcome (None: no judged run that week)."""
        out: list[str | None] = [None] * len(self.weeks)
        for i, o in seq:
            w = self.week_of(i)
            if w is not None and o in _WORST and _WORST[o] > _WORST.get(out[w] or "", 0):
                out[w] = o
        return out

    def daily(self, run_outcomes: list[dict[str, str]], item_seqs: Iterable[Seq]) -> list[dict[str, Any]]:
        """Per day: runs, successful runs, and the judged item and control outcomes of its runs."""
        daily = [{"date": d.isoformat(), "runs": 0, "successful": 0,
                  "items": {o: 0 for o in JUDGED}, "controls": {o: 0 for o in JUDGED}, "pairs": None}
                 for d in self.days]
        for i, r in enumerate(self.runs):
            k = self.day_index.get(r.day)
            if k is None:
                continue                      # started after as_of
            daily[k]["runs"] += 1
            daily[k]["successful"] += r.successful
            daily[k]["pairs"] = run_pairs(r)          # runs are in order: the day's last run stays
            for o in run_outcomes[i].values():
                if o in JUDGED:
                    daily[k]["controls"][o] += 1
        for seq in item_seqs:
            for i, o in seq:
                k = self.day_index.get(self.runs[i].day)
                if k is not None and o in JUDGED:
                    daily[k]["items"][o] += 1
        return daily


PAIRS = ("pass", "waived", "fail", "error", "not_checked", "not_applicable", "skipped", "unverifiable")


def run_pairs(r: Run) -> dict[str, int]:
    """The run's results over its planned hosts x its controls: counts per status, ``not_checked`` for
    planned pairs without a result, everything ``unverifiable`` when the run is; and ``total``."""
    total = r.n_planned * len(r.controls)
    out = dict.fromkeys(PAIRS, 0)
    if r.unverifiable:
        out["unverifiable"] = total
    else:
        for c in r.controls.values():
            out["pass"] += c.passed
            out["waived"] += c.waived
            out["fail"] += c.fail
            out["error"] += c.error
            out["not_applicable"] += c.not_applicable
            out["skipped"] += c.skipped
        out["not_checked"] = max(0, total - sum(out.values()))
    out["total"] = max(total, sum(out.values()))
    return out


def gaps(daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of consecutive days without a successful scan: [{from, to, days}]."""
    out: list[dict[str, Any]] = []
    for d in daily:
        if d["successful"] == 0:
            if out and out[-1]["_next"] == d["date"]:
                out[-1]["to"] = d["date"]
                out[-1]["days"] += 1
            else:
                out.append({"from": d["date"], "to": d["date"], "days": 1})
            out[-1]["_next"] = (date.fromisoformat(d["date"]) + timedelta(days=1)).isoformat()
    for g in out:
        del g["_next"]
    return out


def hosts_seen(runs: list[Run]) -> list[dict[str, Any]]:
    """Per host of the period: first and last run, runs planned, runs checked; by name."""
    hosts: dict[str, dict[str, Any]] = {}
    for r in runs:
        for h, s in r.hosts.items():
            x = hosts.setdefault(h, {"name": h, "first_seen": r.started_at, "last_seen": r.started_at,
                                     "runs": 0, "checked": 0})
            x["last_seen"] = r.started_at
            x["runs"] += 1
            x["checked"] += s == "ok"
    return sorted(hosts.values(), key=lambda h: h["name"])


def runs_digest(runs: Iterable[Run]) -> str:
    """SHA-256 over the summarised runs: one line per run in order, ``run_id TAB started_at TAB state
    TAB manifest_sha256`` (``-`` when the run has none), newline-terminated. With the bundles'
    manifests it ties the report to exactly the runs it counts."""
    return sha256_bytes("".join(f"{r.run_id}\t{r.started_at}\t{r.state}\t{r.manifest_sha256 or '-'}\n"
                                for r in runs).encode("utf-8", "surrogatepass"))


#: the parts of audit.json the document digest leaves out: when and where it was made, and the database
#: file's own hash (it changes when SQLite checkpoints its write-ahead log)
VOLATILE = ("generated", "history", "digest_sha256")


def document_digest(doc: dict[str, Any]) -> str:
    """SHA-256 of the audit document without ``VOLATILE``: canonical JSON (keys sorted, no spaces, ASCII
    escapes), so it covers every figure, every run with its manifest hash and bundle check, the period and
    the catalog. The same as ``python3 -c 'import json,sys,hashlib; d=json.load(sys.stdin); [d.pop(k,None)
    for k in ("generated","history","digest_sha256")]; print(hashlib.sha256(json.dumps(d,sort_keys=True,
    separators=(",",":")).encode()).hexdigest())' < audit.json``."""
    body = {k: v for k, v in doc.items() if k not in VOLATILE}
    return sha256_bytes(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii"))
