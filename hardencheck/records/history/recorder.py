"""Recording a scan as it runs: ``HistoryRecorder`` (begin, one transaction per finished host, end)."""

from __future__ import annotations

import os
from pathlib import Path

from hardencheck.records import provenance
from hardencheck.records.history.queries import History
from hardencheck.records.history.store import _catalog_entry, _j, _pid_start


class HistoryRecorder(History):
    """Records one scan as it runs: begin(), hosts_done() per batch of finished hosts (one
    transaction each, after the bundle wrote their files in one batch too, so a SIGKILL keeps
    exactly the hosts of the batches recorded; a resume records the rest from the bundle), end()
    with the final results document."""

    def __init__(self, path: str | os.PathLike):
        super().__init__(path)     # migrates and marks stale runs interrupted
        self.run_pk: int | None = None
        self.run_id: str | None = None

    @property
    def history(self) -> "History":
        """Queries over the same database (e.g. ``drift.compare_with_previous``)."""
        return self

    def begin(self, run: dict, controls: list[dict], tom_items: dict[str, list[str]],
              tom_catalog: dict | None, bundle: str | os.PathLike | None, *,
              register: dict | None = None) -> None:
        """``register``: the run's ``exceptions``, ``deviations`` and ``attestations`` as results.json
        will have them, stored now so that a killed run keeps them (end() stores the final ones)."""
        if self.run_pk is not None:
            raise RuntimeError("begin() called twice")
        me = provenance.scanner()
        pid = me["pid"]
        run = dict(run)
        # the pid recorded is this process's, so the host is this machine's (mark_stale_running)
        run["scanner"] = {**(run.get("scanner") or {}), "host": me["host"]}
        with self.tx():
            tom_sha = self._insert_catalog(_catalog_entry(tom_catalog, None))
            self.run_pk = self._insert_run(run, state="running", bundle=str(Path(bundle).resolve()) if bundle
                                           else None, imported=False, tom_sha256=tom_sha,
                                           scanner_pid=pid, scanner_pid_start=_pid_start(pid))
            self._insert_controls(self.run_pk, controls, tom_items or {})
            if register:
                self._insert_register(self.run_pk, register)
        self.run_id = run["id"]

    def resume(self, run: dict, controls: list[dict], tom_items: dict[str, list[str]],
               tom_catalog: dict | None, bundle: str | os.PathLike, *, register: dict | None = None,
               finished: list[tuple[dict, str | None, str | None]] = ()) -> None:
        """Continue the row of a resumed run (``scan --resume``): running again under this process;
        ``finished`` (host_json, file, sha256) are the hosts the bundle kept, recorded if the
        history lacks them. A run the history never saw begins here."""
        row = self.conn.execute("SELECT id FROM runs WHERE run_id = ?", (run["id"],)).fetchone()
        if row is None:
            self.begin(run, controls, tom_items, tom_catalog, bundle, register=register)
        else:
            pid = provenance.scanner()["pid"]
            with self.tx():
                self.conn.execute("UPDATE runs SET state = 'running', ended_at = NULL, exit_code = NULL,"
                                  " manifest_sha256 = NULL, scanner_pid = ?, scanner_pid_start = ? WHERE id = ?",
                                  (pid, _pid_start(pid), row[0]))
            self.run_pk, self.run_id = row[0], run["id"]
        recorded = {r[0] for r in self.conn.execute(
            "SELECT h.name FROM run_hosts rh JOIN hosts h ON h.id = rh.host WHERE rh.run = ?", (self.run_pk,))}
        missing = [row for row in finished if row[0]["host"]["name"] not in recorded]
        if missing:
            self.hosts_done(missing)

    def host_done(self, host_json: dict, file: str | None, sha256: str | None) -> None:
        self.hosts_done([(host_json, file, sha256)])

    def hosts_done(self, hosts: list[tuple[dict, str | None, str | None]]) -> None:
        """(host_json, file, sha256) of hosts that finished together, in one transaction (a commit
        is a disk sync: about half of what recording a host cost the scanner)."""
        if self.run_pk is None:
            raise RuntimeError("hosts_done() before begin()")
        with self.tx():
            for host_json, file, sha256 in hosts:
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
            self._insert_register(self.run_pk, doc)
