"""The history database: its schema, the migrations that build it, and the connections to it.

The run history keeps every scan's runs, hosts, control definitions and results in one SQLite file.

Large raw evidence stays in the run bundles (``hosts/<slug>.json``, ``results.json``); the database
references it (bundle path, host file + sha256, evidence ids). One file, WAL mode (readers such as
``hardencheck audit`` never block the scan that writes), ``PRAGMA foreign_keys=ON``, schema versioned
with ``PRAGMA user_version`` and the ordered ``MIGRATIONS`` list below (version N = the first N
scripts applied; a database from a newer hardencheck is refused, never rewritten).

Schema (version 4)
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
    status (v3: also 'waived', a fail covered by the response register; not in run_hosts' counts),
    severity, reason (error/not_applicable reason code, else NULL),
    message -> texts.id, evidence -> texts.id (JSON list of evidence ids as in results.json
    result.evidence.sections, NULL when none); index results_by_control (control, host, run, status)
    serves per-control and per-(host, control) time series without touching the table
``tom_catalogs``   (sha256 PRIMARY KEY, catalog TEXT JSON): {"catalog": results.json tom.catalog
                   identity, "items": [the item tree without per-run fields] | null}
``run_exceptions`` (v4) the response register's entries as the run used them (results.json
                   ``exceptions.entries``); PRIMARY KEY (run, entry_id), WITHOUT ROWID
    action, state (on the run's UTC date: active | expiring | expired | overdue), granted, expires, due,
    approved_by, owner, ticket, justification (the text), controls, hosts, groups (JSON lists),
    file, line; runs.exceptions_sha256 (v4) is the register's SHA-256
``result_responses`` (v4) which entries matched which result: (run, host, control, entry_id, state);
                   a ``waived`` result names the entry that waived it here. WITHOUT ROWID
``run_deviations`` (v4) deviations from the baseline (results.json ``deviations``): run, host, control,
                   param, default_value, value (JSON), why; PRIMARY KEY (run, host, control, param)
``run_attestations`` (v4) the attestation entries as the run judged them (results.json
                   ``attestations.entries``): run, idx (order in the file), measure, groups (JSON or
                   NULL), state (valid | expired | not_yet_valid), status (what it gives the measure:
                   attested | attestation_expired | not_attested | not_verified), date, valid_until,
                   attested_by, owner, statement, documents (JSON: path/url, sha256, status);
                   runs.attestations_sha256 (v4) is the attestation file's SHA-256
``prunes``         (v2) one row per run removed by ``prune``: run_id, inventory_key, started_at,
                   manifest_sha256, bundle_path, bundle_removed (0/1), pruned_at, by, keep

Useful joins: ``results r JOIN runs u ON u.id = r.run JOIN hosts h ON h.id = r.host JOIN controls c
ON c.id = r.control``; run-level counts: ``SUM(n_fail) FROM run_hosts WHERE run = ?``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterable

from hardencheck.errors import ConfigError

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
    # v3: a result may be 'waived' (results.json 1.3: a fail covered by the response register);
    # SQLite cannot change a CHECK constraint, so the table is rebuilt with the same rows
    """
    CREATE TABLE results_v3 (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        host INTEGER NOT NULL REFERENCES hosts (id),
        control INTEGER NOT NULL REFERENCES controls (id),
        status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable', 'skipped', 'waived')),
        severity TEXT NOT NULL,
        reason TEXT,
        message INTEGER REFERENCES texts (id),
        evidence INTEGER REFERENCES texts (id),
        PRIMARY KEY (run, host, control)
    ) WITHOUT ROWID;
    INSERT INTO results_v3 SELECT run, host, control, status, severity, reason, message, evidence FROM results;
    DROP TABLE results;
    ALTER TABLE results_v3 RENAME TO results;
    CREATE INDEX results_by_control ON results (control, host, run, status);
    """,
    # v4: the response register, deviations and attestations of each run (issue 12, part 5)
    """
    ALTER TABLE runs ADD COLUMN exceptions_sha256 TEXT;
    ALTER TABLE runs ADD COLUMN attestations_sha256 TEXT;
    CREATE TABLE run_exceptions (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        entry_id TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        granted TEXT,
        expires TEXT,
        due TEXT,
        approved_by TEXT,
        owner TEXT,
        ticket TEXT,
        justification TEXT,
        controls TEXT,
        hosts TEXT,
        groups TEXT,
        file TEXT,
        line INTEGER,
        PRIMARY KEY (run, entry_id)
    ) WITHOUT ROWID;
    CREATE TABLE result_responses (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        host INTEGER NOT NULL REFERENCES hosts (id),
        control INTEGER NOT NULL REFERENCES controls (id),
        entry_id TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (run, host, control, entry_id)
    ) WITHOUT ROWID;
    CREATE TABLE run_deviations (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        host INTEGER NOT NULL REFERENCES hosts (id),
        control INTEGER NOT NULL REFERENCES controls (id),
        param TEXT NOT NULL,
        default_value TEXT,
        value TEXT,
        why TEXT,
        PRIMARY KEY (run, host, control, param)
    ) WITHOUT ROWID;
    CREATE TABLE run_attestations (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        measure TEXT NOT NULL,
        groups TEXT,
        state TEXT NOT NULL,
        status TEXT NOT NULL,
        date TEXT,
        valid_until TEXT,
        attested_by TEXT,
        owner TEXT,
        statement TEXT,
        documents TEXT,
        PRIMARY KEY (run, idx)
    ) WITHOUT ROWID;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

STATES = ("running", "complete", "interrupted")
COUNTED = ("pass", "fail", "error", "not_applicable", "skipped")


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


def check_schema_version(version: int, path: str | os.PathLike) -> None:
    """The one schema-version check: a database from a newer hardencheck is refused, never rewritten
    (by the recording connection and by the read-only one of the annual report alike)."""
    if version > SCHEMA_VERSION:
        raise ConfigError(f"the history database has schema version {version}; this hardencheck "
                          f"knows versions up to {SCHEMA_VERSION} (upgrade hardencheck)", file=str(path))


def connect(path: str | os.PathLike, *, target: int | None = None) -> sqlite3.Connection:
    """Open (creating it and its folder if needed) and migrate the history database.

    ``target`` (tests only) stops the migrations at that version. Autocommit mode: every write
    goes through ``Store.tx`` (BEGIN IMMEDIATE ... COMMIT).
    """
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
        try:
            check_schema_version(version, path)
        except ConfigError:
            conn.close()
            raise
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
                if conn.in_transaction:    # SQLite has already rolled back after SQLITE_FULL or IOERR
                    conn.execute("ROLLBACK")
                raise
    except sqlite3.OperationalError:
        raise   # disk full, I/O error, read-only, locked: not the database's fault; the caller reports it
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"not a usable history database: {e}", file=str(path)) from None
    return conn


def connect_readonly(path: str | os.PathLike) -> sqlite3.Connection:
    """Open an existing history database read only (the annual report): never created, migrated or
    written, so it can be read beside a running scan or from a read-only copy."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("no run history there", file=str(path))
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"not a run history database: {e}", file=str(path)) from None
    try:
        check_schema_version(version, path)
    except ConfigError:
        conn.close()
        raise
    return conn
