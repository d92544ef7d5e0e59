"""The run history: every scan's runs, hosts, control definitions and results in one SQLite file.

Large raw evidence stays in the run bundles (``hosts/<slug>.json``, ``results.json``); the database
references it (bundle path, host file + sha256, evidence ids). One file, WAL mode (readers such as
``hardencheck audit`` never block the scan that writes), ``PRAGMA foreign_keys=ON``, schema versioned
with ``PRAGMA user_version`` and the ordered ``MIGRATIONS`` list below (version N = the first N
scripts applied; a database from a newer hardencheck is refused, never rewritten).

Schema (version 2)
------------------
Timestamps are the ISO-8601 UTC strings of results.json (``2026-11-23T04:43:06.123Z``): they sort
as text, ``substr(started_at, 1, 10)`` is the UTC date. Statuses and severities are the strings of
results.json. Host and control names are interned into integer surrogate keys (``hosts``,
``controls``); messages and evidence-id lists into ``texts`` (nightly runs repeat them, so a year
of 1.1M results stores each distinct text once).

``runs``           one row per scan (``id`` = surrogate key used by every other table)
    run_id TEXT UNIQUE         the run id of results.json / the bundle folder name
    inventory_key TEXT         normpath of the inventory path as given, or "local" (the chain key:
                               "the previous run" = the latest earlier run with the same key)
    inventory_path, inventory_sha256
    started_at, ended_at       ended_at NULL while running (and after a SIGKILL)
    state                      'running' | 'complete' | 'interrupted'
    exit_code                  NULL until end()
    tool_version, controls_sha256 (the library), tom_sha256 (-> tom_catalogs.sha256)
    bundle_path                absolute path of the run folder when known
    manifest_sha256            sha256 of the bundle's final manifest.json, when known
    hosts_planned INTEGER, planned_hosts TEXT (JSON list of names)
    scanner_host, scanner_pid, scanner_pid_start (Linux /proc start time, guards against pid reuse)
    imported INTEGER           1: loaded with ``import`` from a folder, 0: recorded by the scan
    options TEXT               JSON of results.json run.options
``hosts``          (id, name UNIQUE)                     host names
``controls``       (id, name UNIQUE)                     control ids ("SSH-001")
``texts``          (id, text UNIQUE)                     interned messages and evidence-id lists
``run_hosts``      one row per (run, host) planned; PRIMARY KEY (run, host), WITHOUT ROWID
    status                     'ok' (facts collected) | 'error' (nothing collected) | 'not_scanned'
                               (planned, never finished: interrupted run)
    error_reason, error_message   host-level error (HostRecord.error), NULL when ok
    started_at, ended_at, address, host_key_fingerprint, groups (JSON list)
    evidence_file, evidence_sha256   hosts/<slug>.json in the bundle (relative path) and its sha256;
                               for an import from results.json alone: "results.json" and its sha256
    n_pass, n_fail, n_error, n_not_applicable, n_skipped   the host's result counts
``run_controls``   the control library of each run; PRIMARY KEY (run, control), WITHOUT ROWID
    sha256 (the control file's), severity, title, tom_items (JSON list of TOM item ids)
``results``        one row per (run, host, control); PRIMARY KEY (run, host, control), WITHOUT ROWID
    status, severity, reason (error/not_applicable reason code, else NULL),
    message -> texts.id, evidence -> texts.id (JSON list of evidence ids as in results.json
    result.evidence.sections, NULL when none); index results_by_control (control, host, run, status)
    serves per-control and per-(host, control) time series without touching the table
``tom_catalogs``   (sha256 PRIMARY KEY, catalog TEXT JSON): {"catalog": results.json tom.catalog
                   identity, "items": [the item tree without per-run fields] | null}
``prunes``         (v2) one row per run removed by ``prune``: run_id, inventory_key, started_at,
                   manifest_sha256, bundle_path, bundle_removed (0/1), pruned_at, by, keep

Useful joins: ``results r JOIN runs u ON u.id = r.run JOIN hosts h ON h.id = r.host JOIN controls c
ON c.id = r.control``; run-level counts: ``SUM(n_fail) FROM run_hosts WHERE run = ?``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from hardencheck.records.bundle import append_pruned, document_from_hosts
from hardencheck.records.bundle import inventory_key as bundle_inventory_key

MIGRATIONS: list[str] = [
    # v1: runs, hosts, results
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL UNIQUE,
        inventory_key TEXT NOT NULL,
        inventory_path TEXT,
        inventory_sha256 TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'interrupted')),
        exit_code INTEGER,
        tool_version TEXT,
        controls_sha256 TEXT,
        tom_sha256 TEXT,
        bundle_path TEXT,
        manifest_sha256 TEXT,
        hosts_planned INTEGER,
        planned_hosts TEXT,
        scanner_host TEXT,
        scanner_pid INTEGER,
        scanner_pid_start INTEGER,
        imported INTEGER NOT NULL DEFAULT 0,
        options TEXT
    );
    CREATE INDEX runs_by_inventory ON runs (inventory_key, started_at);
    CREATE INDEX runs_by_start ON runs (started_at);
    CREATE INDEX runs_by_state ON runs (state);
    CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE controls (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
    CREATE TABLE run_hosts (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        host INTEGER NOT NULL REFERENCES hosts (id),
        status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'not_scanned')),
        error_reason TEXT,
        error_message TEXT,
        started_at TEXT,
        ended_at TEXT,
        address TEXT,
        host_key_fingerprint TEXT,
        groups TEXT,
        evidence_file TEXT,
        evidence_sha256 TEXT,
        n_pass INTEGER NOT NULL DEFAULT 0,
        n_fail INTEGER NOT NULL DEFAULT 0,
        n_error INTEGER NOT NULL DEFAULT 0,
        n_not_applicable INTEGER NOT NULL DEFAULT 0,
        n_skipped INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run, host)
    ) WITHOUT ROWID;
    CREATE TABLE run_controls (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        control INTEGER NOT NULL REFERENCES controls (id),
        sha256 TEXT,
        severity TEXT NOT NULL,
        title TEXT,
        tom_items TEXT,
        PRIMARY KEY (run, control)
    ) WITHOUT ROWID;
    CREATE TABLE results (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        host INTEGER NOT NULL REFERENCES hosts (id),
        control INTEGER NOT NULL REFERENCES controls (id),
        status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable', 'skipped')),
        severity TEXT NOT NULL,
        reason TEXT,
        message INTEGER REFERENCES texts (id),
        evidence INTEGER REFERENCES texts (id),
        PRIMARY KEY (run, host, control)
    ) WITHOUT ROWID;
    CREATE TABLE tom_catalogs (sha256 TEXT PRIMARY KEY, catalog TEXT NOT NULL) WITHOUT ROWID;
    """,
    # v2: retention records; per-control time series
    """
    CREATE TABLE prunes (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        inventory_key TEXT,
        started_at TEXT,
        manifest_sha256 TEXT,
        bundle_path TEXT,
        bundle_removed INTEGER NOT NULL DEFAULT 0,
        pruned_at TEXT NOT NULL,
        by TEXT,
        keep TEXT
    );
    CREATE INDEX results_by_control ON results (control, host, run, status);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

STATES = ("running", "complete", "interrupted")
COUNTED = ("pass", "fail", "error", "not_applicable", "skipped")


# -- paths and connections -------------------------------------------------------------------------

def _statements(script: str) -> Iterable[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf.strip()
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {buf.strip()[:60]}")


def connect(path: str | os.PathLike, *, target: int | None = None) -> sqlite3.Connection:
    """Open (creating it and its folder if needed) and migrate the history database.

    ``target`` (tests only) stops the migrations at that version. Autocommit mode: every write
    goes through ``_tx`` (BEGIN IMMEDIATE ... COMMIT).
    """
    from hardencheck.errors import ConfigError

    target = SCHEMA_VERSION if target is None else target
    memory = str(path) == ":memory:"
    if not memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        if not memory:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ConfigError(f"the history database cannot use WAL mode (journal_mode={mode})",
                                  file=str(path))
        conn.execute("PRAGMA synchronous = FULL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise ConfigError(f"the history database has schema version {version}; this hardencheck "
                              f"knows versions up to {SCHEMA_VERSION} (upgrade hardencheck)", file=str(path))
        while version < target:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # another process may have migrated while we waited for the write lock
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version < target:
                    for stmt in _statements(MIGRATIONS[version]):
                        conn.execute(stmt)
                    version += 1
                    conn.execute(f"PRAGMA user_version = {version}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"not a usable history database: {e}", file=str(path)) from None
    return conn


class _Tx:
    def __init__(self, owner: "_Store"):
        self.owner = owner

    def __enter__(self):
        self.owner.conn.execute("BEGIN IMMEDIATE")
        return self.owner.conn

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.owner.conn.execute("COMMIT")
        else:
            try:
                self.owner.conn.execute("ROLLBACK")
            finally:
                self.owner._forget()   # interned ids of the rolled-back transaction are gone
        return False


def _pid_start(pid: int) -> int | None:
    """Start time of a process (clock ticks since boot; Linux), None when unknown or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":            # a zombie has finished
            return None
        return int(fields[19])
    except (ValueError, IndexError):
        return None


def _pid_alive(pid: int, start: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now_start = _pid_start(pid)
    if Path("/proc/self/stat").exists():
        if now_start is None:
            return False                 # zombie or vanished
        if start is not None and now_start != start:
            return False                 # pid reused by another process
    return True


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                 separators=(",", ":"))


def inventory_key(inventory: dict | None) -> str:
    """The key results.json carries (since 1.1), else the one it would have had."""
    inventory = inventory or {}
    return str(inventory["key"]) if inventory.get("key") else bundle_inventory_key(inventory.get("path"))


def _host_counts(results: list[dict]) -> dict[str, int]:
    counts = {s: 0 for s in COUNTED}
    for r in results:
        if r.get("status") in counts:
            counts[r["status"]] += 1
    return counts


def _catalog_entry(catalog: dict | None, items: list[dict] | None) -> tuple[str, str] | None:
    """(sha256, JSON) of a TOM catalog: its identity plus the item tree without per-run fields."""
    if not catalog:
        return None
    import hashlib

    tree = None
    if items:
        tree = [{k: v for k, v in it.items() if k not in ("hosts", "status", "result_counts", "children")} for it in items]
    ident = {k: v for k, v in catalog.items() if k != "items"}
    if tree is None and isinstance(catalog.get("items"), list):
        tree = catalog["items"]
    sha = ident.get("sha256") or hashlib.sha256(_j(ident).encode()).hexdigest()
    return sha, _j({"catalog": ident, "items": tree})


# -- writing ---------------------------------------------------------------------------------------

class _Store:
    """A connection plus the interning caches (host, control and text ids)."""

    def __init__(self, path: str | os.PathLike, *, target: int | None = None):
        self.path = str(path)
        self.conn = connect(path, target=target)
        self._ids: dict[tuple[str, str], int] = {}

    def _forget(self) -> None:
        self._ids.clear()

    def tx(self) -> _Tx:
        return _Tx(self)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _intern(self, table: str, column: str, value: str) -> int:
        key = (table, value)
        got = self._ids.get(key)
        if got is None:
            row = self.conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (value,)).fetchone()
            if row is None:
                got = self.conn.execute(f"INSERT INTO {table} ({column}) VALUES (?)", (value,)).lastrowid
            else:
                got = row[0]
            self._ids[key] = got
        return got

    def host_id(self, name: str) -> int:
        return self._intern("hosts", "name", name)

    def control_id(self, name: str) -> int:
        return self._intern("controls", "name", name)

    def text_id(self, text: str | None) -> int | None:
        if text is None or text == "":
            return None
        return self._intern("texts", "text", text)

    # -- shared insert helpers (call inside a transaction) --------------------------------------
    def _insert_run(self, run: dict, *, state: str, bundle: str | None, imported: bool,
                    tom_sha256: str | None, manifest_sha256: str | None = None,
                    scanner_pid: int | None = None, scanner_pid_start: int | None = None) -> int:
        inv = run.get("inventory") or {}
        planned = list(inv.get("hosts") or run.get("hosts_planned") or [])
        scanner = run.get("scanner") or {}
        return self.conn.execute(
            "INSERT INTO runs (run_id, inventory_key, inventory_path, inventory_sha256, started_at, ended_at,"
            " state, exit_code, tool_version, controls_sha256, tom_sha256, bundle_path, manifest_sha256,"
            " hosts_planned, planned_hosts, scanner_host, scanner_pid, scanner_pid_start, imported, options)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run["id"], inventory_key(inv), inv.get("path"), inv.get("sha256"), run.get("started_at") or "",
             run.get("ended_at") if state != "running" else None, state,
             run.get("exit_code") if state != "running" else None,
             (run.get("tool") or {}).get("version"), (run.get("controls") or {}).get("sha256"), tom_sha256,
             bundle, manifest_sha256, len(planned), _j(planned), scanner.get("host"),
             scanner_pid if scanner_pid is not None else scanner.get("pid"), scanner_pid_start,
             1 if imported else 0, _j(run.get("options")))).lastrowid

    def _insert_controls(self, run_pk: int, controls: list[dict], tom_items: dict[str, list[str]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO run_controls (run, control, sha256, severity, title, tom_items)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(run_pk, self.control_id(c["id"]), c.get("sha256"), c.get("severity") or "info", c.get("title"),
              _j(list(tom_items.get(c["id"], c.get("tom") or [])))) for c in controls])

    def _insert_catalog(self, entry: tuple[str, str] | None) -> str | None:
        if entry is None:
            return None
        sha, text = entry
        row = self.conn.execute("SELECT catalog FROM tom_catalogs WHERE sha256 = ?", (sha,)).fetchone()
        if row is None:
            self.conn.execute("INSERT INTO tom_catalogs (sha256, catalog) VALUES (?, ?)", (sha, text))
        elif json.loads(row[0]).get("items") is None and json.loads(text).get("items") is not None:
            self.conn.execute("UPDATE tom_catalogs SET catalog = ? WHERE sha256 = ?", (text, sha))
        return sha

    def _insert_host(self, run_pk: int, host_json: dict, file: str | None, sha256: str | None) -> None:
        h = host_json.get("host") or {}
        name = h.get("name")
        if not name:
            raise ValueError("host record without a name")
        hid = self.host_id(name)
        results = host_json.get("results") or []
        counts = _host_counts(results)
        err = h.get("error") or {}
        ident = h.get("identity") or {}
        status = h.get("status") if h.get("status") in ("ok", "error") else "error"
        self.conn.execute(
            "INSERT OR REPLACE INTO run_hosts (run, host, status, error_reason, error_message, started_at,"
            " ended_at, address, host_key_fingerprint, groups, evidence_file, evidence_sha256, n_pass, n_fail,"
            " n_error, n_not_applicable, n_skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_pk, hid, status, err.get("reason"), err.get("message"), h.get("started_at"), h.get("ended_at"),
             ident.get("address"), ident.get("host_key_fingerprint"), _j(h.get("groups") or []), file, sha256,
             counts["pass"], counts["fail"], counts["error"], counts["not_applicable"], counts["skipped"]))
        self.conn.execute("DELETE FROM results WHERE run = ? AND host = ?", (run_pk, hid))
        rows = []
        for r in results:
            if r.get("host") not in (None, name):
                raise ValueError(f"result of host {r.get('host')!r} in the record of {name!r}")
            ev = (r.get("evidence") or {}).get("sections") if isinstance(r.get("evidence"), dict) else None
            rows.append((run_pk, hid, self.control_id(r["control"]), r["status"], r.get("severity") or "info",
                         r.get("reason"), self.text_id(r.get("message")), self.text_id(_j(ev) if ev else None)))
        self.conn.executemany(
            "INSERT OR REPLACE INTO results (run, host, control, status, severity, reason, message, evidence)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _fill_not_scanned(self, run_pk: int) -> None:
        row = self.conn.execute("SELECT planned_hosts FROM runs WHERE id = ?", (run_pk,)).fetchone()
        planned = json.loads(row[0]) if row and row[0] else []
        done = {r[0] for r in self.conn.execute(
            "SELECT h.name FROM run_hosts rh JOIN hosts h ON h.id = rh.host WHERE rh.run = ?", (run_pk,))}
        for name in planned:
            if name not in done:
                self.conn.execute("INSERT INTO run_hosts (run, host, status) VALUES (?, ?, 'not_scanned')",
                                  (run_pk, self.host_id(name)))

    def mark_stale_running(self) -> list[str]:
        """Runs left 'running' by a scanner process on this host that no longer exists ->
        'interrupted' (their planned hosts without results -> 'not_scanned'). Returns their run ids."""
        me = socket.gethostname()
        rows = self.conn.execute("SELECT id, run_id, scanner_host, scanner_pid, scanner_pid_start FROM runs"
                                 " WHERE state = 'running'").fetchall()
        stale = [r for r in rows if r["scanner_host"] == me and not _pid_alive(r["scanner_pid"],
                                                                                r["scanner_pid_start"])]
        marked = []
        for r in stale:
            with self.tx():
                cur = self.conn.execute("UPDATE runs SET state = 'interrupted' WHERE id = ? AND state = 'running'",
                                        (r["id"],))
                if cur.rowcount:
                    self._fill_not_scanned(r["id"])
                    marked.append(r["run_id"])
        return marked


# -- reading, import, retention --------------------------------------------------------------------

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


def _sha256_file(path: Path) -> tuple[bytes, str]:
    import hashlib

    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def _run_dict(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["pk"] = d.pop("id")
    d["imported"] = bool(d["imported"])
    d["counts"] = {s: d.pop(f"n_{s}") for s in COUNTED}
    return d


class History(_Store):
    """Queries over the run history (and import / prune). Opening it marks stale runs interrupted."""

    def __init__(self, path: str | os.PathLike, *, target: int | None = None):
        super().__init__(path, target=target)
        self.mark_stale_running()

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
            rid = _folder_run_id(p)
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

    # -- import ----------------------------------------------------------------------------------
    def import_run(self, folder: str | os.PathLike) -> dict:
        """Import a run folder: a bundle, a folder with only results.json (older runs), or an
        incomplete bundle without results.json (its hosts/*.json, imported as interrupted).
        Idempotent: a run already in the history is left as it is ({"status": "exists"})."""
        from hardencheck.errors import ConfigError

        folder = Path(folder)
        if folder.name == "results.json" and folder.is_file():
            folder = folder.parent
        if not folder.is_dir():
            raise ConfigError("not a run folder", file=str(folder))
        results_path, manifest_path = folder / "results.json", folder / "manifest.json"
        manifest, manifest_sha = None, None
        if manifest_path.is_file():
            data, manifest_sha = _sha256_file(manifest_path)
            try:
                manifest = json.loads(data)
            except ValueError as e:
                raise ConfigError(f"manifest.json is not JSON: {e}", file=str(manifest_path)) from None
        host_files = _host_files(folder)
        if results_path.is_file():
            data, doc_sha = _sha256_file(results_path)
            try:
                doc = json.loads(data)
            except ValueError as e:
                raise ConfigError(f"not a results.json: {e}", file=str(results_path)) from None
        elif manifest is None:
            raise ConfigError("neither results.json nor manifest.json there: not a run folder", file=str(folder))
        else:   # a bundle whose scanner was killed: its plan and the hosts that finished
            scanner = (manifest.get("run") or {}).get("scanner") or {}
            if ((manifest.get("run") or {}).get("state") == "running" and scanner.get("host") == socket.gethostname()
                    and scanner.get("pid") and _pid_alive(int(scanner["pid"]), None)):
                raise ConfigError(f"run {manifest['run'].get('id')} is still running (pid {scanner['pid']})",
                                  file=str(folder))
            try:
                doc = document_from_hosts(folder)
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise ConfigError(f"the bundle has no results.json and its run.json or host files cannot be "
                                  f"read ({type(e).__name__}: {e})", file=str(folder)) from None
            doc_sha = None
        if not str(doc.get("schema_version", "")).startswith("1."):
            raise ConfigError(f"unsupported schema_version {doc.get('schema_version')!r}",
                              file=str(results_path))
        run = doc["run"]
        if self.run(run["id"]):
            return {"run_id": run["id"], "status": "exists", "folder": str(folder)}
        by_host: dict[str, list[dict]] = {}
        for r in doc.get("results") or []:
            by_host.setdefault(r["host"], []).append(r)
        state = "complete" if run.get("complete", True) else "interrupted"
        tom = doc.get("tom") or {}
        with self.tx():
            tom_sha = self._insert_catalog(_catalog_entry(tom.get("catalog"), tom.get("items")))
            pk = self._insert_run(run, state=state, bundle=str(folder.resolve()), imported=True,
                                  tom_sha256=tom_sha, manifest_sha256=manifest_sha)
            self._insert_controls(pk, doc.get("controls") or [], _tom_items_from_results(doc.get("results") or []))
            for h in doc.get("hosts") or []:
                file, sha = host_files.get(h["name"], ("results.json", doc_sha))
                self._insert_host(pk, {"host": h, "results": by_host.get(h["name"], [])}, file, sha)
            self._fill_not_scanned(pk)
        return {"run_id": run["id"], "status": "imported", "state": state, "folder": str(folder)}

    # -- retention -------------------------------------------------------------------------------
    def prune(self, keep_days: float, *, keep_text: str | None = None, now: float | None = None,
              dry_run: bool = False, inventory: str | None = None, out: str | os.PathLike | None = None,
              by: str | None = None) -> list[dict]:
        """Remove runs that started more than ``keep_days`` ago from the history and their bundle
        folders from disk. Each removal is first appended (fsynced) to ``pruned.jsonl`` beside the
        bundle (or in ``out`` when the bundle is unknown), then recorded in ``prunes`` together with
        the deletion from the database, then the folder is removed -- only when it is a real folder
        (no symlink) named after the run whose results.json or manifest.json names that run."""
        import getpass
        import shutil
        import time as _time
        from hardencheck.results import utc

        now = _time.time() if now is None else now
        cutoff = utc(now - keep_days * 86400)
        pruned_at = utc(now)
        by = by or f"{getpass.getuser()}@{socket.gethostname()}"
        old = [r for r in self.runs(inventory, until=cutoff) if r["state"] != "running"]
        done = []
        for r in old:
            bundle = r["bundle_path"]
            ok_bundle, why = _is_known_bundle(bundle, r["run_id"]) if bundle else (False, "no bundle recorded")
            if not r["manifest_sha256"] and ok_bundle and (Path(bundle) / "manifest.json").is_file():
                # a killed run never recorded its final manifest: the one on disk is what the next
                # run's chain link names, so that is what verify --chain must find in pruned.jsonl
                r = dict(r, manifest_sha256=_sha256_file(Path(bundle) / "manifest.json")[1])
            entry = {"run_id": r["run_id"], "inventory_key": r["inventory_key"], "started_at": r["started_at"],
                     "manifest_sha256": r["manifest_sha256"], "bundle_path": bundle,
                     "bundle_removed": bool(ok_bundle), "bundle_kept_because": None if ok_bundle else why}
            done.append(entry)
            if dry_run:
                continue
            journal_dir = Path(bundle).parent if bundle and Path(bundle).parent.is_dir() else (
                Path(out) if out else None)
            if journal_dir is not None:
                append_pruned(journal_dir, {
                    "run_id": r["run_id"], "inventory_key": r["inventory_key"], "started_at": r["started_at"],
                    "manifest_sha256": r["manifest_sha256"], "pruned_at": pruned_at, "by": by, "keep": keep_text})
            with self.tx():
                self.conn.execute(
                    "INSERT INTO prunes (run_id, inventory_key, started_at, manifest_sha256, bundle_path,"
                    " bundle_removed, pruned_at, by, keep) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    (r["run_id"], r["inventory_key"], r["started_at"], r["manifest_sha256"], bundle, pruned_at,
                     by, keep_text))
                prune_id = self.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                self.conn.execute("DELETE FROM runs WHERE id = ?", (r["pk"],))
            if ok_bundle:
                shutil.rmtree(bundle)
                with self.tx():
                    self.conn.execute("UPDATE prunes SET bundle_removed = 1 WHERE id = ?", (prune_id,))
        return done


def _folder_run_id(folder: Path) -> str | None:
    for name, get in (("results.json", lambda d: d["run"]["id"]), ("manifest.json", lambda d: d["run"]["id"])):
        p = folder / name
        if p.is_file() and not p.is_symlink():
            try:
                return str(get(json.loads(p.read_text(encoding="utf-8"))))
            except (ValueError, KeyError, TypeError, OSError):
                continue
    return None


def _is_known_bundle(bundle: str, run_id: str) -> tuple[bool, str]:
    p = Path(bundle)
    if p.is_symlink():
        return False, "the bundle path is a symbolic link"
    if not p.is_dir():
        return False, "the bundle folder does not exist"
    if p.name != run_id:
        return False, "the folder is not named after the run"
    if _folder_run_id(p) != run_id:
        return False, "the folder holds no results.json or manifest.json of this run"
    return True, ""


def _host_files(folder: Path) -> dict[str, tuple[str, str]]:
    """host name -> (path relative to the folder, sha256) of the bundle's hosts/*.json."""
    out: dict[str, tuple[str, str]] = {}
    hosts = folder / "hosts"
    if not hosts.is_dir() or hosts.is_symlink():
        return out
    for p in sorted(hosts.glob("*.json")):
        if p.is_symlink() or not p.is_file():
            continue
        data, sha = _sha256_file(p)
        try:
            name = json.loads(data)["host"]["name"]
        except (ValueError, KeyError, TypeError):
            continue
        out[name] = (f"hosts/{p.name}", sha)
    return out


def _tom_items_from_results(results: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in results:
        if r.get("tom") and r["control"] not in out:
            out[r["control"]] = list(r["tom"])
    return out


def mark_stale_running(path: str | os.PathLike) -> list[str]:
    with History(path) as h:
        return h.mark_stale_running()


class HistoryRecorder(History):
    """Records one scan as it runs: begin(), host_done() per finished host (one transaction each, so
    a SIGKILL keeps exactly the finished hosts), end() with the final results document."""

    def __init__(self, path: str | os.PathLike):
        super().__init__(path)     # migrates and marks stale runs interrupted
        self.run_pk: int | None = None
        self.run_id: str | None = None

    @property
    def history(self) -> "History":
        """Queries over the same database (e.g. ``drift.compare_with_previous``)."""
        return self

    def begin(self, run: dict, controls: list[dict], tom_items: dict[str, list[str]],
              tom_catalog: dict | None, bundle: str | os.PathLike | None) -> None:
        if self.run_pk is not None:
            raise RuntimeError("begin() called twice")
        pid = os.getpid()
        run = dict(run)
        # the pid recorded is this process's, so the host is this machine's (mark_stale_running)
        run["scanner"] = {**(run.get("scanner") or {}), "host": socket.gethostname()}
        with self.tx():
            tom_sha = self._insert_catalog(_catalog_entry(tom_catalog, None))
            self.run_pk = self._insert_run(run, state="running", bundle=str(Path(bundle).resolve()) if bundle
                                           else None, imported=False, tom_sha256=tom_sha,
                                           scanner_pid=pid, scanner_pid_start=_pid_start(pid))
            self._insert_controls(self.run_pk, controls, tom_items or {})
        self.run_id = run["id"]

    def host_done(self, host_json: dict, file: str | None, sha256: str | None) -> None:
        if self.run_pk is None:
            raise RuntimeError("host_done() before begin()")
        with self.tx():
            self._insert_host(self.run_pk, host_json, file, sha256)

    def end(self, doc: dict, manifest_sha256: str | None = None) -> None:
        if self.run_pk is None:
            raise RuntimeError("end() before begin()")
        run = doc.get("run") or {}
        state = "complete" if run.get("complete", True) else "interrupted"
        with self.tx():
            recorded = {r[0] for r in self.conn.execute(
                "SELECT h.name FROM run_hosts rh JOIN hosts h ON h.id = rh.host WHERE rh.run = ?", (self.run_pk,))}
            # hosts the document has but host_done never saw (defensive: the document is the truth)
            by_host: dict[str, list[dict]] = {}
            for r in doc.get("results") or []:
                by_host.setdefault(r["host"], []).append(r)
            for h in doc.get("hosts") or []:
                if h["name"] not in recorded:
                    self._insert_host(self.run_pk, {"host": h, "results": by_host.get(h["name"], [])},
                                      "results.json", None)
            tom = doc.get("tom") or {}
            tom_sha = self._insert_catalog(_catalog_entry(tom.get("catalog"), tom.get("items")))
            inv = run.get("inventory") or {}
            planned = inv.get("hosts")
            self.conn.execute(
                "UPDATE runs SET state = ?, ended_at = ?, exit_code = ?, manifest_sha256 = ?,"
                " tom_sha256 = COALESCE(?, tom_sha256), planned_hosts = COALESCE(?, planned_hosts),"
                " hosts_planned = COALESCE(?, hosts_planned) WHERE id = ?",
                (state, run.get("ended_at"), run.get("exit_code"), manifest_sha256, tom_sha,
                 _j(planned) if planned is not None else None, len(planned) if planned is not None else None,
                 self.run_pk))
            self._fill_not_scanned(self.run_pk)
