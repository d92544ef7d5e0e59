"""Writing the history: a connection with its interning caches (host, control and text ids), one
transaction per write, the insert helpers the recorder and the import share, and the marking of runs
whose scanner died. Schema and migrations: ``schema``; the queries: ``queries``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hardencheck.judge.attestations import entry_status
from hardencheck.records import provenance
from hardencheck.records.bundle import inventory_key
from hardencheck.records.files import sha256_bytes
from hardencheck.records.history.schema import COUNTED, connect


class _Tx:
    def __init__(self, owner: "Store"):
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
    tree = None
    if items:
        tree = [{k: v for k, v in it.items() if k not in ("hosts", "status", "result_counts", "children")}
                for it in items]
    ident = {k: v for k, v in catalog.items() if k != "items"}
    if tree is None and isinstance(catalog.get("items"), list):
        tree = catalog["items"]
    sha = ident.get("sha256") or sha256_bytes(_j(ident).encode())
    return sha, _j({"catalog": ident, "items": tree})


_TEXT_CACHE = 50_000     # interned texts kept in memory (Store._text_ids)
_CHUNK = 500             # texts per lookup query (below SQLite's 999 host parameters of old builds)


class Store:
    """A connection plus the interning caches (host, control and text ids)."""

    def __init__(self, path: str | os.PathLike, *, target: int | None = None):
        self.path = str(path)
        self.conn = connect(path, target=target)
        #: the schema version written to (below 4 only in tests that build an older database)
        self.version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        self._ids: dict[tuple[str, str], int] = {}
        self._texts: dict[str, int] = {}     # text -> texts.id, bounded (_TEXT_CACHE)

    def _forget(self) -> None:
        self._ids.clear()
        self._texts.clear()

    def tx(self) -> _Tx:
        return _Tx(self)

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
        got = self._texts.get(text)
        if got is None:
            got = self._text_ids([text])[text]
        return got

    def _text_ids(self, texts) -> dict[str, int]:
        """texts.id of each text (inserted when new): the ones not cached are looked up in one
        query per chunk, the new ones inserted, instead of a query (and an insert) each. The cache
        is emptied when it grows past _TEXT_CACHE: a host's evidence ids name the host, so most
        texts of a run of 10,000 hosts are never met again."""
        out: dict[str, int] = {}
        todo: list[str] = []
        for t in texts:
            got = self._texts.get(t)
            if got is None:
                todo.append(t)
            else:
                out[t] = got
        todo = list(dict.fromkeys(todo))
        if len(self._texts) + len(todo) > _TEXT_CACHE:
            self._texts.clear()
        for i in range(0, len(todo), _CHUNK):
            chunk = todo[i:i + _CHUNK]
            found = dict(self.conn.execute(
                f"SELECT text, id FROM texts WHERE text IN ({','.join('?' * len(chunk))})", chunk).fetchall())
            for t in chunk:
                if t not in found:
                    found[t] = self.conn.execute("INSERT INTO texts (text) VALUES (?)", (t,)).lastrowid
            out.update(found)
            self._texts.update(found)
        return out

    # -- shared insert helpers (call inside a transaction) --------------------------------------
    def _insert_run(self, run: dict, *, state: str, bundle: str | None, imported: bool,
                    tom_sha256: str | None, manifest_sha256: str | None = None,
                    scanner_pid: int | None = None, scanner_pid_start: int | None = None) -> int:
        inv = run.get("inventory") or {}
        planned = list(inv.get("hosts") or run.get("hosts_planned") or [])
        scanner = run.get("scanner") or {}
        # the key results.json carries (since 1.1), else the one its inventory path gives
        key = str(inv["key"]) if inv.get("key") else inventory_key(inv.get("path"))
        return self.conn.execute(
            "INSERT INTO runs (run_id, inventory_key, inventory_path, inventory_sha256, started_at, ended_at,"
            " state, exit_code, tool_version, controls_sha256, tom_sha256, bundle_path, manifest_sha256,"
            " hosts_planned, planned_hosts, scanner_host, scanner_pid, scanner_pid_start, imported, options)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run["id"], key, inv.get("path"), inv.get("sha256"), run.get("started_at") or "",
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
        if self.version >= 4:
            self.conn.execute("DELETE FROM result_responses WHERE run = ? AND host = ?", (run_pk, hid))
        rows, responses = [], []
        texts = []           # (message, evidence ids as JSON) of each result, interned together
        for r in results:
            if r.get("host") not in (None, name):
                raise ValueError(f"result of host {r.get('host')!r} in the record of {name!r}")
            ev = (r.get("evidence") or {}).get("sections") if isinstance(r.get("evidence"), dict) else None
            texts.append((r.get("message") or None, _j(ev) if ev else None))
        ids = self._text_ids([t for pair in texts for t in pair if t])
        for r, (message, ev) in zip(results, texts):
            rows.append((run_pk, hid, self.control_id(r["control"]), r["status"], r.get("severity") or "info",
                         r.get("reason"), ids.get(message), ids.get(ev)))
            for resp in r.get("responses") or []:
                if isinstance(resp, dict) and resp.get("id"):
                    responses.append((run_pk, hid, rows[-1][2], str(resp["id"]), resp.get("state") or "active"))
        self.conn.executemany(
            "INSERT OR REPLACE INTO results (run, host, control, status, severity, reason, message, evidence)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if self.version < 4:
            return
        self.conn.executemany("INSERT OR REPLACE INTO result_responses (run, host, control, entry_id, state)"
                              " VALUES (?, ?, ?, ?, ?)", responses)

    def _insert_register(self, run_pk: int, doc: dict) -> None:
        """The run's response register entries, deviations and attestation entries (results.json 1.3
        ``exceptions``, ``deviations``, ``attestations``); replaces what the run had."""
        if self.version < 4:
            return
        for table in ("run_exceptions", "run_deviations", "run_attestations"):
            self.conn.execute(f"DELETE FROM {table} WHERE run = ?", (run_pk,))
        exc = doc.get("exceptions") or {}
        att = doc.get("attestations") or {}
        self.conn.execute("UPDATE runs SET exceptions_sha256 = ?, attestations_sha256 = ? WHERE id = ?",
                          (exc.get("sha256"), (att.get("file") or {}).get("sha256"), run_pk))
        self.conn.executemany(
            "INSERT OR REPLACE INTO run_exceptions (run, entry_id, action, state, granted, expires, due, approved_by,"
            " owner, ticket, justification, controls, hosts, groups, file, line)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_pk, str(e["id"]), e.get("action") or "", e.get("state") or "active", e.get("granted"),
              e.get("expires"), e.get("due"), e.get("approved_by"), e.get("owner"), e.get("ticket"),
              e.get("justification"), _j(e.get("controls") or []), _j(e.get("hosts") or []),
              _j(e.get("groups") or []), e.get("file"), e.get("line"))
             for e in exc.get("entries") or [] if isinstance(e, dict) and e.get("id")])
        self.conn.executemany(
            "INSERT OR REPLACE INTO run_deviations (run, host, control, param, default_value, value, why)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_pk, self.host_id(d["host"]), self.control_id(d["control"]), str(d.get("param")),
              _j(d.get("default")), _j(d.get("value")), d.get("why"))
             for d in doc.get("deviations") or [] if isinstance(d, dict) and d.get("host") and d.get("control")])
        self.conn.executemany(
            "INSERT OR REPLACE INTO run_attestations (run, idx, measure, groups, state, status, date, valid_until,"
            " attested_by, owner, statement, documents) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_pk, i, str(e["measure"]), _j(e.get("groups")) if e.get("groups") else None,
              e.get("state") or "", entry_status(e), e.get("date"), e.get("valid_until"), e.get("attested_by"),
              e.get("owner"), e.get("statement"),
              _j([{k: d.get(k) for k in ("path", "url", "sha256", "status")} for d in e.get("evidence") or []]))
             for i, e in enumerate(att.get("entries") or []) if isinstance(e, dict) and e.get("measure")])

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
        me = provenance.scanner()["host"]
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
