"""Reading the history: the queries of ``history``, ``diff``, ``import``, ``scan --compare`` and the
annual report (``Queries``), over the read-write ``History`` or the read-only ``HistoryReader``.

The read queries of the history are here, including every one the annual report needs (the writes and
the lookups they need are in ``store``, import and prune in ``maintenance``). The annual report's queries aggregate in SQLite: the
results table (365 runs x 50 hosts x 60 controls = 1.1M rows a year) is never loaded row by row into
Python -- one aggregate per run over the primary key (~22k rows a year in all), run hosts and run
controls streamed, and the only per-result query fetches the failing hosts of open failures.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable

from hardencheck.records.bundle import folder_run_id
from hardencheck.records.history import maintenance
from hardencheck.records.history.schema import COUNTED, connect_readonly
from hardencheck.records.history.store import Store

_RUN_COLUMNS = ("id", "run_id", "inventory_key", "inventory_path", "inventory_sha256", "started_at", "ended_at",
                "state", "exit_code", "tool_version", "controls_sha256", "tom_sha256", "bundle_path",
                "manifest_sha256", "hosts_planned", "scanner_host", "scanner_pid", "imported")
_RUN_SELECT = (
    "SELECT " + ", ".join(f"u.{c}" for c in _RUN_COLUMNS) + ","
    " COUNT(rh.host) AS hosts_recorded,"
    " COALESCE(SUM(rh.status != 'not_scanned'), 0) AS hosts_scanned,"
    " COALESCE(SUM(rh.status = 'error'), 0) AS hosts_error,"
    " COALESCE(SUM(rh.n_pass), 0) AS n_pass, COALESCE(SUM(rh.n_fail), 0) AS n_fail,"
    " COALESCE(SUM(rh.n_error), 0) AS n_error, COALESCE(SUM(rh.n_not_applicable), 0) AS n_not_applicable,"
    " COALESCE(SUM(rh.n_skipped), 0) AS n_skipped"
    " FROM runs u LEFT JOIN run_hosts rh ON rh.run = u.id")


def _run_dict(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["pk"] = d.pop("id")
    d["imported"] = bool(d["imported"])
    d["counts"] = {s: d.pop(f"n_{s}") for s in COUNTED}
    return d


class Queries:
    """The read queries over ``self.conn`` (a connection with ``sqlite3.Row`` rows) of ``self.path``."""

    conn: sqlite3.Connection | None
    path: str

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- runs ------------------------------------------------------------------------------------
    def runs(self, inventory: str | None = None, *, since: str | None = None, until: str | None = None,
             states: Iterable[str] | None = None) -> list[dict]:
        """Runs oldest first, each with host and result counts."""
        where, args = [], []
        if inventory is not None:
            where.append("u.inventory_key = ?")
            args.append(inventory)
        if since:
            where.append("u.started_at >= ?")
            args.append(since)
        if until:
            where.append("u.started_at < ?")
            args.append(until)
        if states:
            states = list(states)
            where.append(f"u.state IN ({', '.join('?' * len(states))})")
            args += states
        sql = _RUN_SELECT + (" WHERE " + " AND ".join(where) if where else "") + \
            " GROUP BY u.id ORDER BY u.started_at, u.id"
        return [_run_dict(r) for r in self.conn.execute(sql, args)]

    def run(self, run_id: str) -> dict | None:
        row = self.conn.execute(_RUN_SELECT + " WHERE u.run_id = ? GROUP BY u.id", (run_id,)).fetchone()
        return _run_dict(row) if row and row["run_id"] is not None else None

    def previous(self, run: dict, *, complete_only: bool = True) -> dict | None:
        """The latest run of the same inventory that started before ``run``."""
        sql = ("SELECT run_id FROM runs WHERE inventory_key = ? AND (started_at < ? OR (started_at = ? AND id < ?))"
               + (" AND state = 'complete'" if complete_only else "") + " ORDER BY started_at DESC, id DESC LIMIT 1")
        row = self.conn.execute(sql, (run["inventory_key"], run["started_at"], run["started_at"],
                                      run["pk"])).fetchone()
        return self.run(row[0]) if row else None

    def last_runs(self, inventory: str | None = None, n: int = 2, *, complete_only: bool = True) -> list[dict]:
        """The last ``n`` runs (oldest first) of ``inventory``, default: the inventory of the latest run."""
        cond = " WHERE state = 'complete'" if complete_only else ""
        if inventory is None:
            row = self.conn.execute("SELECT inventory_key FROM runs" + cond +
                                    " ORDER BY started_at DESC, id DESC LIMIT 1").fetchone()
            if row is None:
                return []
            inventory = row[0]
        rows = self.conn.execute("SELECT run_id FROM runs WHERE inventory_key = ?" +
                                 (" AND state = 'complete'" if complete_only else "") +
                                 " ORDER BY started_at DESC, id DESC LIMIT ?", (inventory, n)).fetchall()
        return [self.run(r[0]) for r in reversed(rows)]

    def find(self, ref: str) -> dict | None:
        """A run by run id, or by its bundle folder / results.json path."""
        got = self.run(ref)
        if got:
            return got
        p = Path(ref)
        if p.name == "results.json":
            p = p.parent
        if p.exists():
            row = self.conn.execute("SELECT run_id FROM runs WHERE bundle_path = ?", (str(p.resolve()),)).fetchone()
            if row:
                return self.run(row[0])
            rid = folder_run_id(p)
            if rid:
                return self.run(rid)
        return None

    def hosts(self, run_id: str) -> dict[str, dict]:
        rows = self.conn.execute(
            "SELECT h.name, rh.* FROM run_hosts rh JOIN hosts h ON h.id = rh.host JOIN runs u ON u.id = rh.run"
            " WHERE u.run_id = ? ORDER BY h.name", (run_id,))
        out = {}
        for r in rows:
            d = dict(r)
            d.pop("run"), d.pop("host")
            d["groups"] = json.loads(d["groups"]) if d["groups"] else []
            out[d.pop("name")] = d
        return out

    def controls(self, run_id: str) -> dict[str, dict]:
        rows = self.conn.execute(
            "SELECT c.name, rc.sha256, rc.severity, rc.title, rc.tom_items FROM run_controls rc"
            " JOIN controls c ON c.id = rc.control JOIN runs u ON u.id = rc.run WHERE u.run_id = ?"
            " ORDER BY c.name", (run_id,))
        return {r["name"]: {"sha256": r["sha256"], "severity": r["severity"], "title": r["title"],
                            "tom_items": json.loads(r["tom_items"]) if r["tom_items"] else []} for r in rows}

    def results(self, run_id: str) -> dict[tuple[str, str], dict]:
        """(host, control) -> status, severity, reason, message, evidence (list of ids)."""
        rows = self.conn.execute(
            "SELECT h.name AS host, c.name AS control, r.status, r.severity, r.reason, m.text AS message,"
            " e.text AS evidence FROM results r JOIN runs u ON u.id = r.run JOIN hosts h ON h.id = r.host"
            " JOIN controls c ON c.id = r.control LEFT JOIN texts m ON m.id = r.message"
            " LEFT JOIN texts e ON e.id = r.evidence WHERE u.run_id = ?", (run_id,))
        return {(r["host"], r["control"]): {"status": r["status"], "severity": r["severity"], "reason": r["reason"],
                                            "message": r["message"],
                                            "evidence": json.loads(r["evidence"]) if r["evidence"] else []}
                for r in rows}

    def tom_catalog(self, sha256: str) -> dict | None:
        row = self.conn.execute("SELECT catalog FROM tom_catalogs WHERE sha256 = ?", (sha256,)).fetchone()
        return json.loads(row[0]) if row else None

    def prunes(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM prunes ORDER BY id")]

    def inventory_keys(self) -> list[str]:
        """Every inventory key that has a run, sorted."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT inventory_key FROM runs ORDER BY 1")]

    def last_scans(self, inventory: str, exclude_run: str | None = None) -> dict[str, dict]:
        """Host name -> ``last_ok`` (start of its last scan with host status ok), ``last_attempt``,
        ``last_status`` and ``last_reason`` (its last scan, ok or error; ``not_scanned`` is no attempt),
        over every recorded run of ``inventory`` but ``exclude_run`` (scope reconciliation)."""
        base = (" FROM run_hosts rh JOIN runs u ON u.id = rh.run JOIN hosts h ON h.id = rh.host"
                " WHERE u.inventory_key = ? AND u.run_id != ? AND rh.status {} GROUP BY h.name")
        args = (inventory, exclude_run or "")
        out: dict[str, dict] = {}
        # SQLite: the bare columns of a MAX() aggregate come from the row holding the maximum
        for name, at, status, reason in self.conn.execute(
                "SELECT h.name, MAX(COALESCE(rh.started_at, u.started_at)), rh.status, rh.error_reason"
                + base.format("!= 'not_scanned'"), args):
            out[name] = {"last_ok": None, "last_attempt": at, "last_status": status, "last_reason": reason}
        for name, at in self.conn.execute("SELECT h.name, MAX(COALESCE(rh.started_at, u.started_at))"
                                          + base.format("= 'ok'"), args):
            out[name]["last_ok"] = at
        return out

    # -- the annual report -------------------------------------------------------------------------
    def period_inventory_keys(self, date_from: date, date_to: date) -> list[str]:
        """The inventory keys of the runs that started on a UTC day from ``date_from`` to ``date_to``."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT inventory_key FROM runs WHERE started_at >= ? AND started_at < ? ORDER BY 1",
            (date_from.isoformat(), (date_to + timedelta(days=1)).isoformat()))]

    def run_starts(self, inventory: str | None = None) -> list[str]:
        """The start time of every run (of ``inventory`` when given), oldest first."""
        sql = "SELECT started_at FROM runs" + (" WHERE inventory_key = ?" if inventory is not None else "")
        return sorted(r[0] for r in self.conn.execute(sql, (inventory,) if inventory is not None else ()))

    def period_runs(self, date_from: date, date_to: date, inventory: str | None = None
                    ) -> tuple[list[dict], dict[str, dict]]:
        """The runs that started on a UTC day from ``date_from`` to ``date_to`` (inclusive), of
        ``inventory`` when given, oldest first. Each: run_id, inventory_key, started_at, ended_at, state,
        manifest_sha256, hosts_planned, tool_version, tom_sha256, controls_sha256, bundle_path; ``hosts`` (planned host
        -> run_hosts status) and ``controls`` (the run's control library -> its result counts by status,
        zero when none). And control id -> {title, severity} as the latest of these runs has it."""
        lo = date_from.isoformat()
        hi = (date_to + timedelta(days=1)).isoformat()
        where = "u.started_at >= ? AND u.started_at < ?" + (" AND u.inventory_key = ?" if inventory is not None
                                                            else "")
        params: tuple = (lo, hi) + ((inventory,) if inventory is not None else ())
        by_id: dict[int, dict] = {}
        for (rid, run_id, key, started, ended, state, manifest, planned, tool, tom_sha, ctl_sha, bundle) in \
                self.conn.execute(
                "SELECT u.id, u.run_id, u.inventory_key, u.started_at, u.ended_at, u.state, u.manifest_sha256, "
                "u.hosts_planned, u.tool_version, u.tom_sha256, u.controls_sha256, u.bundle_path FROM runs u WHERE "
                + where + " ORDER BY u.started_at, u.run_id", params):
            by_id[rid] = {"run_id": run_id, "inventory_key": key, "started_at": started, "ended_at": ended,
                          "state": state, "manifest_sha256": manifest, "hosts_planned": planned,
                          "tool_version": tool, "tom_sha256": tom_sha, "controls_sha256": ctl_sha,
                          "bundle_path": bundle, "hosts": {}, "controls": {}}
        if not by_id:
            return [], {}
        sub = "SELECT u.id FROM runs u WHERE " + where
        for rid, name, status in self.conn.execute(
                "SELECT rh.run, h.name, rh.status FROM run_hosts rh JOIN hosts h ON h.id = rh.host "
                f"WHERE rh.run IN ({sub})", params):
            by_id[rid]["hosts"][name] = status
        info: dict[str, dict] = {}
        names: dict[int, str] = {}
        order = {rid: k for k, rid in enumerate(by_id)}
        latest: dict[str, int] = {}
        for rid, cid, cname, severity, title in self.conn.execute(
                "SELECT rc.run, rc.control, c.name, rc.severity, rc.title FROM run_controls rc "
                f"JOIN controls c ON c.id = rc.control WHERE rc.run IN ({sub})", params):
            names[cid] = cname
            by_id[rid]["controls"][cname] = dict.fromkeys(COUNTED, 0)
            if order[rid] >= latest.get(cname, -1):
                latest[cname] = order[rid]
                info[cname] = {"title": title, "severity": severity}
        # one aggregate per run: each sorts ~3,000 rows in memory (a single GROUP BY run, control over the
        # year sorts 1.1M rows in a temporary b-tree: about twice as slow)
        for rid, run in by_id.items():
            for cid, *counts in self.conn.execute(
                    "SELECT r.control, SUM(r.status = 'pass'), SUM(r.status = 'fail'), SUM(r.status = 'error'), "
                    "SUM(r.status = 'not_applicable'), SUM(r.status = 'skipped'), SUM(r.status = 'waived') "
                    "FROM results r WHERE r.run = ? GROUP BY r.control", (rid,)):
                name = names.get(cid)
                if name is None:              # a result for a control missing from run_controls
                    name = names[cid] = self.conn.execute("SELECT name FROM controls WHERE id = ?",
                                                          (cid,)).fetchone()[0]
                run["controls"][name] = dict(zip(COUNTED + ("waived",), counts))
        self._period_register(by_id)
        return list(by_id.values()), info

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _period_register(self, by_id: dict[int, dict]) -> None:
        """Adds to each run of ``by_id`` (run pk -> run dict) what schema v4 keeps of the response
        register and attestations: ``exceptions`` (entries as used, each with ``covered``: the
        [host, control] pairs it matched and ``waived``: those it waived, being in force and waiving),
        ``deviations`` and
        ``attestations`` (entries with the status they give their measure); ``None`` for each when the
        history predates v4 (older read-only copies)."""
        v4 = self.schema_version() >= 4
        for rid, run in by_id.items():
            run["exceptions"] = run["deviations"] = run["attestations"] = None
            if not v4:
                continue
            sha = self.conn.execute("SELECT exceptions_sha256, attestations_sha256 FROM runs WHERE id = ?",
                                    (rid,)).fetchone()
            entries = {}
            for row in self.conn.execute(
                    "SELECT entry_id, action, state, granted, expires, due, approved_by, owner, ticket, justification,"
                    " controls, hosts, groups FROM run_exceptions WHERE run = ? ORDER BY entry_id", (rid,)):
                e = dict(zip(("id", "action", "state", "granted", "expires", "due", "approved_by", "owner",
                              "ticket", "justification", "controls", "hosts", "groups"), row))
                for k in ("controls", "hosts", "groups"):
                    e[k] = json.loads(e[k]) if e[k] else []
                e["covered"], e["waived"] = [], []
                entries[e["id"]] = e
            for entry_id, hname, cname, status, rstate in self.conn.execute(
                    "SELECT rr.entry_id, h.name, c.name, r.status, rr.state FROM result_responses rr"
                    " JOIN hosts h ON h.id = rr.host JOIN controls c ON c.id = rr.control"
                    " LEFT JOIN results r ON r.run = rr.run AND r.host = rr.host AND r.control = rr.control"
                    " WHERE rr.run = ? ORDER BY h.name, c.name", (rid,)):
                e = entries.get(entry_id)
                if e is not None:
                    e["covered"].append([hname, cname])
                    # the entries that waived it: a waiving action, in force on the run's date
                    if (status == "waived" and rstate in ("active", "expiring")
                            and e["action"] in ("risk_accepted", "false_positive")):
                        e["waived"].append([hname, cname])
            run["exceptions"] = list(entries.values()) if (entries or sha[0]) else None
            run["deviations"] = [dict(zip(("host", "control", "param", "default", "value", "why"), (
                h, c, p, json.loads(d) if d else None, json.loads(v) if v else None, w))) for h, c, p, d, v, w in
                self.conn.execute("SELECT h.name, c.name, d.param, d.default_value, d.value, d.why"
                                  " FROM run_deviations d"
                                  " JOIN hosts h ON h.id = d.host JOIN controls c ON c.id = d.control"
                                  " WHERE d.run = ? ORDER BY h.name, c.name, d.param", (rid,))]
            att = [dict(zip(("measure", "groups", "state", "status", "date", "valid_until", "attested_by", "owner"),
                            (m, json.loads(g) if g else None, st, stat, d, vu, by, ow)))
                   for m, g, st, stat, d, vu, by, ow in self.conn.execute(
                       "SELECT measure, groups, state, status, date, valid_until, attested_by, owner"
                       " FROM run_attestations WHERE run = ? ORDER BY idx", (rid,))]
            run["attestations"] = att if (att or sha[1]) else None

    def failing_hosts(self, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """(run id, control) -> the hosts it failed on in that run, for the ``wanted`` pairs: one small
        query per run concerned."""
        out: dict[tuple[str, str], list[str]] = {}
        for run_id in sorted({w[0] for w in wanted}):
            for cname, hname in self.conn.execute(
                    "SELECT c.name, h.name FROM results r JOIN controls c ON c.id = r.control "
                    "JOIN hosts h ON h.id = r.host WHERE r.run = (SELECT id FROM runs WHERE run_id = ?) "
                    "AND r.status = 'fail'", (run_id,)):
                if (run_id, cname) in wanted:
                    out.setdefault((run_id, cname), []).append(hname)
        return out


class HistoryReader(Queries):
    """The history opened read only (``hardencheck audit``): queries, no writes, no migration, no
    marking of stale runs. A database of a newer schema, a missing file or another file is refused."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self.conn = connect_readonly(path)
        self.conn.row_factory = sqlite3.Row


class History(Queries, Store):
    """The history opened for reading and writing: the queries, import and prune. Opening it migrates
    the database and marks runs whose scanner died interrupted."""

    def __init__(self, path: str | os.PathLike, *, target: int | None = None):
        super().__init__(path, target=target)
        self.mark_stale_running()

    def import_run(self, folder: str | os.PathLike) -> dict:
        """See ``maintenance.import_run``."""
        return maintenance.import_run(self, folder)

    def prune(self, keep_days: float, *, keep_text: str | None = None, now: float | None = None,
              dry_run: bool = False, inventory: str | None = None, out: str | os.PathLike | None = None,
              by: str | None = None) -> list[dict]:
        """See ``maintenance.prune``."""
        return maintenance.prune(self, keep_days, keep_text=keep_text, now=now, dry_run=dry_run,
                                 inventory=inventory, out=out, by=by)


def mark_stale_running(path: str | os.PathLike) -> list[str]:
    """Open the history at ``path``, marking runs whose scanner died interrupted; their run ids."""
    with History(path) as h:
        return h.mark_stale_running()
