"""The run history against real SQLite files: schema and migrations, recorder, import, stale runs, prune."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hardencheck.records import history as hist
from hardencheck.errors import ConfigError
from hardencheck.records.history import History, HistoryRecorder
from hardencheck.records.history.store import _pid_start

SHA = {c: c.lower().ljust(64, "0")[:64] for c in ("SSH-001", "SSH-002", "FW-001", "FILE-004")}


def make_doc(run_id, started, hosts, *, controls=None, complete=True, inventory="lab.yml", planned=None,
             host_errors=None):
    """A results.json document: ``hosts`` = {host: {control: status}}."""
    controls = controls or SHA
    host_errors = host_errors or {}
    sev = {"SSH-001": "high", "SSH-002": "high", "FW-001": "high", "FILE-004": "medium"}
    results, host_recs = [], []
    for h, statuses in hosts.items():
        err = host_errors.get(h)
        host_recs.append({"name": h, "identity": {"address": f"10.0.0.{len(host_recs) + 1}",
                                                  "host_key_fingerprint": "SHA256:x"},
                          "status": "error" if err else "ok",
                          "error": {"reason": err, "message": f"{err} on {h}"} if err else None,
                          "started_at": started, "ended_at": started, "groups": ["prod"]})
        for c in controls:
            st = statuses.get(c, "skipped")
            results.append({"host": h, "control": c, "status": st, "severity": sev.get(c, "low"),
                            "expected": "x", "actual": None, "message": f"{c} on {h} is {st}",
                            "reason": "unreachable" if st == "error" else None, "tom": ["1.2.1"],
                            "params": {}, "evidence": {"sections": [f"{h}/s1"]} if st in ("pass", "fail") else {}})
    planned = planned if planned is not None else list(hosts)
    return {
        "schema_version": "1.0",
        "run": {"id": run_id, "started_at": started, "ended_at": started, "complete": complete,
                "tool": {"name": "hardencheck", "version": "0.1.0"}, "scanner": {"host": "elsewhere", "user": "u"},
                "inventory": {"path": inventory, "sha256": "i" * 64, "hosts": planned,
                              "not_scanned": [h for h in planned if h not in hosts]},
                "controls": {"path": "controls", "sha256": "c" * 64, "ids": list(controls)},
                "options": {}, "exit_code": 1 if complete else 2},
        "summary": {}, "controls": [{"id": c, "title": f"title {c}", "severity": sev.get(c, "low"), "sha256": s}
                                    for c, s in controls.items()],
        "hosts": host_recs, "results": results, "evidence": {},
        "tom": {"catalog": {"id": "t", "title": {"en": "T"}, "version": "1", "date": "2026-01-01", "path": "t.yml",
                            "sha256": "t" * 64},
                "items": [{"id": "1.2.1", "depth": 0, "parents": [], "title": {"en": "keys"}, "group": False,
                           "controls": list(controls), "status": "met", "hosts": {}, "result_counts": {}}]},
    }


def write_run(out, doc):
    d = out / doc["run"]["id"]
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(doc))
    return d


def test_new_database_is_wal_and_at_the_current_version(tmp_path):
    db = tmp_path / "sub" / "history.db"
    History(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == hist.SCHEMA_VERSION == 4
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "run_hosts", "run_controls", "results", "hosts", "controls", "texts", "tom_catalogs",
            "prunes", "run_exceptions", "result_responses", "run_deviations", "run_attestations"} <= tables


def test_v1_database_is_migrated_keeping_its_runs(tmp_path):
    db = tmp_path / "history.db"
    folder = write_run(tmp_path / "out", make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {"SSH-001": "fail"}}))
    with History(db, target=1) as h:        # the code path of schema version 1
        h.import_run(folder)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'prunes'").fetchone()[0] == 0
    conn.close()
    with History(db) as h:                   # today's code migrates to v2, v3 and v4
        assert h.conn.execute("PRAGMA user_version").fetchone()[0] == 4
        assert h.results("r1")[("a", "SSH-001")]["status"] == "fail"
        assert h.prunes() == []
        idx = h.conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'results_by_control'").fetchone()[0]
        assert idx == 1


def test_database_from_a_newer_hardencheck_is_refused_untouched(tmp_path):
    db = tmp_path / "history.db"
    History(db).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        History(db)
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 99


def test_not_a_database_is_a_config_error(tmp_path):
    db = tmp_path / "history.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a usable history database"):
        History(db)


def _recorder_run(doc):
    run = dict(doc["run"], complete=False, ended_at=None)
    run.pop("exit_code")
    return run


def test_recorder_records_hosts_as_they_finish_and_the_end(tmp_path):
    db = tmp_path / "history.db"
    doc = make_doc("r1", "2026-01-01T00:00:00.000Z",
                   {"a": {"SSH-001": "pass", "FW-001": "fail"}, "b": {"SSH-001": "fail", "FW-001": "fail"}},
                   planned=["a", "b", "c"], complete=False)
    rec = HistoryRecorder(db)
    rec.begin(_recorder_run(doc), doc["controls"], {"SSH-001": ["1.2.1"]}, doc["tom"]["catalog"], tmp_path / "r1")
    with History(db) as other:    # another process sees the run while it is running
        assert other.run("r1")["state"] == "running"
        assert other.run("r1")["hosts_planned"] == 3
    host_a = {"host": doc["hosts"][0], "results": [r for r in doc["results"] if r["host"] == "a"], "evidence": {}}
    rec.host_done(host_a, "hosts/a.json", "f" * 64)
    with History(db) as other:
        assert other.run("r1")["counts"]["fail"] == 1
        assert other.hosts("r1")["a"]["evidence_file"] == "hosts/a.json"
    host_b = {"host": doc["hosts"][1], "results": [r for r in doc["results"] if r["host"] == "b"], "evidence": {}}
    rec.host_done(host_b, "hosts/b.json", "e" * 64)
    rec.end(doc, "m" * 64)
    rec.close()
    with History(db) as h:
        r = h.run("r1")
        assert r["state"] == "interrupted" and r["exit_code"] == 2 and r["manifest_sha256"] == "m" * 64
        assert (r["hosts_scanned"], r["counts"]["pass"], r["counts"]["fail"]) == (2, 1, 3)
        assert {n: d["status"] for n, d in h.hosts("r1").items()} == {"a": "ok", "b": "ok", "c": "not_scanned"}
        assert h.controls("r1")["SSH-001"] == {"sha256": SHA["SSH-001"], "severity": "high",
                                               "title": "title SSH-001", "tom_items": ["1.2.1"]}
        res = h.results("r1")
        assert res[("a", "FW-001")]["evidence"] == ["a/s1"]
        assert res[("b", "SSH-001")]["message"] == "SSH-001 on b is fail"
        assert r["tom_sha256"] == "t" * 64
        assert h.tom_catalog("t" * 64)["items"][0] == {"id": "1.2.1", "depth": 0, "parents": [],
                                                        "title": {"en": "keys"}, "group": False,
                                                        "controls": list(SHA)}


KILLED_CHILD = textwrap.dedent("""
    import json, sys, time
    from hardencheck.records.history import HistoryRecorder
    doc = json.loads(open(sys.argv[2]).read())
    rec = HistoryRecorder(sys.argv[1])
    run = dict(doc["run"], complete=False)
    rec.begin(run, doc["controls"], {}, doc["tom"]["catalog"], None)
    h = doc["hosts"][0]
    rec.host_done({"host": h, "results": [r for r in doc["results"] if r["host"] == h["name"]]}, "hosts/a.json", "0")
    print("host done", flush=True)
    time.sleep(60)
""")


def test_sigkilled_recorder_leaves_finished_hosts_and_run_marked_interrupted(tmp_path):
    db = tmp_path / "history.db"
    doc = make_doc("killed", "2026-01-02T00:00:00.000Z", {"a": {"SSH-001": "fail"}, "b": {"SSH-001": "pass"}},
                   planned=["a", "b"])
    docfile = tmp_path / "doc.json"
    docfile.write_text(json.dumps(doc))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(db), str(docfile)], stdout=subprocess.PIPE,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        assert proc.stdout.readline() == b"host done\n"
        with History(db) as h:            # the scanner still runs: the run stays 'running'
            assert h.run("killed")["state"] == "running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    with History(db) as h:                # opening the history notices the scanner is gone
        r = h.run("killed")
        assert r["state"] == "interrupted" and r["exit_code"] is None and r["ended_at"] is None
        assert {n: d["status"] for n, d in h.hosts("killed").items()} == {"a": "ok", "b": "not_scanned"}
        assert set(h.results("killed")) == {("a", c) for c in SHA}


def test_running_run_of_another_scanner_host_is_left_alone(tmp_path):
    db = tmp_path / "history.db"
    doc = make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {}})
    with History(db) as h, h.tx():
        h._insert_run(dict(doc["run"], scanner={"host": "another-machine"}), state="running", bundle=None,
                      imported=False, tom_sha256=None, scanner_pid=1)
        h._insert_run(dict(doc["run"], id="r2", scanner={"host": os.uname().nodename}), state="running",
                      bundle=None, imported=False, tom_sha256=None, scanner_pid=os.getpid(),
                      scanner_pid_start=_pid_start(os.getpid()) + 1)   # pid reused since
    with History(db) as h:
        assert h.run("r1")["state"] == "running"
        assert h.run("r2")["state"] == "interrupted"


def test_import_is_idempotent_and_reads_results_json_alone(tmp_path):
    out = tmp_path / "out"
    folder = write_run(out, make_doc("r1", "2026-01-01T00:00:00.000Z",
                                     {"a": {"SSH-001": "fail", "FW-001": "pass"}, "b": {"SSH-001": "error"}},
                                     host_errors={"b": "unreachable"}))
    with History(tmp_path / "h.db") as h:
        assert h.import_run(folder)["status"] == "imported"
        assert h.import_run(folder / "results.json")["status"] == "exists"
        runs = h.runs()
        assert len(runs) == 1 and runs[0]["imported"] and runs[0]["state"] == "complete"
        assert runs[0]["inventory_key"] == "lab.yml"
        assert runs[0]["counts"] == {"pass": 1, "fail": 1, "error": 1, "not_applicable": 0, "skipped": 5}
        assert h.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 8
        b = h.hosts("r1")["b"]
        assert (b["status"], b["error_reason"], b["evidence_file"]) == ("error", "unreachable", "results.json")
        assert len(b["evidence_sha256"]) == 64
        assert h.find(str(folder))["run_id"] == "r1"


def test_import_of_an_incomplete_bundle_reads_its_host_files(tmp_path):
    """A bundle as a SIGKILLed scan leaves it: written by the real BundleWriter, never sealed."""
    from hardencheck.records.bundle import BundleWriter

    folder = tmp_path / "out" / "r9"
    doc = make_doc("r9", "2026-01-03T00:00:00.000Z", {"a": {"SSH-001": "fail"}, "b": {"SSH-001": "pass"}})
    run = dict(doc["run"], complete=False, ended_at=None, scanner={"host": "elsewhere", "user": "u", "pid": 1})
    run["inventory"] = dict(run["inventory"], key="lab.yml")
    writer = BundleWriter(folder, {"id": "r9", "started_at": run["started_at"], "scanner": run["scanner"],
                                   "inventory": {"key": "lab.yml"}, "hosts_planned": ["a", "b"]},
                          None, plan={"run": run, "controls": doc["controls"], "tom": {}})
    (rel, _), = writer.add_hosts([{"host": doc["hosts"][0], "evidence": {},
                                   "results": [r for r in doc["results"] if r["host"] == "a"]}])
    with History(tmp_path / "h.db") as h:
        assert h.import_run(folder) == {"run_id": "r9", "status": "imported", "state": "interrupted",
                                        "folder": str(folder)}
        assert h.import_run(folder)["status"] == "exists"
        assert {n: d["status"] for n, d in h.hosts("r9").items()} == {"a": "ok", "b": "not_scanned"}
        assert h.hosts("r9")["a"]["evidence_file"] == rel
        assert set(h.results("r9")) == {("a", c) for c in SHA}
        assert set(h.controls("r9")) == set(SHA)
    # the same bundle while its scanner (here: this very process) is still at work
    import socket

    writer.run["scanner"] = {"host": socket.gethostname(), "user": "u", "pid": os.getpid()}
    writer.run["id"] = "r10"
    writer.add_hosts([{"host": doc["hosts"][1], "evidence": {},
                       "results": [r for r in doc["results"] if r["host"] == "b"]}])
    with History(tmp_path / "h2.db") as h:
        with pytest.raises(ConfigError, match="is still running"):
            h.import_run(folder)


def test_import_of_something_else_is_a_config_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with History(tmp_path / "h.db") as h:
        with pytest.raises(ConfigError, match="not a run folder"):
            h.import_run(tmp_path / "empty")
        with pytest.raises(ConfigError, match="not a run folder"):
            h.import_run(tmp_path / "missing")


def _day(n):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_780_000_000 + n * 86400))


def test_prune_removes_old_runs_records_them_and_never_follows_symlinks(tmp_path):
    out = tmp_path / "out"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("do not delete")
    folders = {}
    with History(tmp_path / "h.db") as h:
        for i, rid in enumerate(("old1", "old2", "old3", "old4", "new1")):
            folders[rid] = write_run(out, make_doc(rid, _day([0, 1, 2, 3, 500][i]), {"a": {"SSH-001": "pass"}}))
            h.import_run(folders[rid])
        # old2's folder is swapped for a symlink to somewhere else; old3's bundle is renamed away
        real = out / "old2-real"
        folders["old2"].rename(real)
        folders["old2"].symlink_to(outside)
        folders["old3"].rename(out / "moved")
        (out / "old3").mkdir()           # a folder with the run's name that is not its bundle
        (out / "old3" / "notes.txt").write_text("mine")
        now = 1_780_000_000 + 501 * 86400
        dry = h.prune(400, keep_text="400d", now=now, dry_run=True)
        assert [d["run_id"] for d in dry] == ["old1", "old2", "old3", "old4"]
        assert len(h.runs()) == 5 and not (out / "pruned.jsonl").exists()
        done = h.prune(400, keep_text="400d", now=now, by="tester")
        assert {d["run_id"]: d["bundle_removed"] for d in done} == {"old1": True, "old2": False, "old3": False,
                                                                   "old4": True}
        assert [r["run_id"] for r in h.runs()] == ["new1"]
        assert h.conn.execute("SELECT COUNT(DISTINCT run) FROM results").fetchone()[0] == 1
        assert [(p["run_id"], p["bundle_removed"], p["by"], p["keep"]) for p in h.prunes()] == [
            ("old1", 1, "tester", "400d"), ("old2", 0, "tester", "400d"), ("old3", 0, "tester", "400d"),
            ("old4", 1, "tester", "400d")]
    assert not folders["old1"].exists() and not folders["old4"].exists() and folders["new1"].exists()
    assert (outside / "keep.txt").read_text() == "do not delete" and folders["old2"].is_symlink()
    assert (out / "old3" / "notes.txt").exists() and (out / "moved" / "results.json").exists()
    lines = [json.loads(x) for x in (out / "pruned.jsonl").read_text().splitlines()]
    assert [x["run_id"] for x in lines] == ["old1", "old2", "old3", "old4"]
    assert set(lines[0]) == {"run_id", "inventory_key", "started_at", "manifest_sha256", "pruned_at", "by", "keep"}
    assert lines[0]["started_at"] == _day(0) and lines[0]["keep"] == "400d"


def test_history_path_resolution(tmp_path, monkeypatch):
    from hardencheck.config import Settings, history_path

    monkeypatch.delenv("HARDENCHECK_HISTORY", raising=False)
    assert history_path(None, Settings(), "reports") == Path("reports/history.db")
    assert history_path(None, Settings(), "x") == Path("x/history.db")
    assert history_path(None, Settings(history="/srv/h.db"), "x") == Path("/srv/h.db")
    monkeypatch.setenv("HARDENCHECK_HISTORY", str(tmp_path / "env.db"))
    assert history_path(None, Settings(history="/srv/h.db"), "x") == tmp_path / "env.db"
    assert history_path("given.db", Settings(), "x") == Path("given.db")

def test_a_waived_result_is_stored_like_any_other_status(tmp_path):
    db = tmp_path / "history.db"
    folder = write_run(tmp_path / "out", make_doc("r1", "2026-01-01T00:00:00.000Z",
                                                  {"a": {"SSH-001": "waived", "SSH-002": "fail"}}))
    with History(db) as h:
        h.import_run(folder)
        assert h.results("r1")[("a", "SSH-001")]["status"] == "waived"
        assert h.results("r1")[("a", "SSH-002")]["status"] == "fail"


def _with_register(doc):
    """``doc`` with a response register (EXC-1 waives SSH-001 on a, EXC-0 expired), a deviation and
    two attestations, as results.json 1.3 has them."""
    for r in doc["results"]:
        if r["control"] == "SSH-001" and r["host"] == "a":
            r["status"] = "waived"
            r["responses"] = [{"id": "EXC-1", "action": "risk_accepted", "state": "expiring"},
                              {"id": "EXC-0", "action": "risk_accepted", "state": "expired"}]
    doc["schema_version"] = "1.3"
    doc["exceptions"] = {"files": ["reg.yml"], "sha256": "e" * 64, "date": "2026-01-01", "entries": [
        {"id": "EXC-0", "action": "risk_accepted", "controls": ["SSH-001"], "hosts": ["a"], "groups": [],
         "justification": "old", "approved_by": "CISO", "granted": "2025-01-01", "expires": "2025-12-31",
         "ticket": None, "owner": None, "due": None, "state": "expired", "file": "reg.yml", "line": 2},
        {"id": "EXC-1", "action": "risk_accepted", "controls": ["SSH-001"], "hosts": ["a"], "groups": [],
         "justification": "Vendor <b>appliance</b>", "approved_by": "CISO", "granted": "2026-01-01",
         "expires": "2026-01-10", "ticket": "SEC-1", "owner": None, "due": None, "state": "expiring",
         "file": "reg.yml", "line": 10}]}
    doc["deviations"] = [{"host": "a", "control": "FILE-004", "param": "max_age_days", "default": 30, "value": 90,
                          "why": "accepts older evidence (90 instead of 30)"}]
    doc["attestations"] = {"file": {"path": "att.yml", "sha256": "a" * 64}, "date": "2026-01-01", "entries": [
        {"measure": "1.1", "groups": None, "statement": "badges", "owner": "FM", "attested_by": "CISO",
         "date": "2025-06-01", "valid_until": "2026-05-31", "state": "valid",
         "evidence": [{"path": "doc.pdf", "sha256": "d" * 64, "status": "ok", "checked": True}]},
        {"measure": "1.3", "groups": ["prod"], "statement": "training", "owner": "HR", "attested_by": "CISO",
         "date": "2024-01-01", "valid_until": "2025-01-01", "state": "expired", "evidence": []}]}
    return doc


def _register_rows(db, run_id):
    with History(db) as h:
        runs, _ = h.period_runs(__import__("datetime").date(2026, 1, 1), __import__("datetime").date(2026, 1, 1))
    return {r["run_id"]: r for r in runs}[run_id]


def test_the_register_deviations_and_attestations_are_stored_per_run_by_import_and_recorder(tmp_path):
    doc = _with_register(make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {"SSH-001": "fail", "SSH-002": "pass"},
                                                                      "b": {"SSH-001": "pass"}}))
    db = tmp_path / "imported.db"
    with History(db) as h:
        h.import_run(write_run(tmp_path / "out", doc))
    db2 = tmp_path / "recorded.db"
    rec = HistoryRecorder(db2)
    rec.begin(_recorder_run(doc), doc["controls"], {}, None, None)
    by_host = {}
    for r in doc["results"]:
        by_host.setdefault(r["host"], []).append(r)
    for hrec in doc["hosts"]:
        rec.host_done({"host": hrec, "results": by_host[hrec["name"]], "evidence": {}}, "hosts/x.json", "0" * 64)
    rec.end(doc, "m" * 64)
    rec.close()
    for path in (db, db2):
        run = _register_rows(path, "r1")
        assert run["controls"]["SSH-001"]["waived"] == 1 and run["controls"]["SSH-001"]["fail"] == 0
        exc = {e["id"]: e for e in run["exceptions"]}
        assert list(exc) == ["EXC-0", "EXC-1"]
        assert exc["EXC-1"]["state"] == "expiring" and exc["EXC-1"]["expires"] == "2026-01-10"
        assert exc["EXC-1"]["justification"] == "Vendor <b>appliance</b>"
        assert exc["EXC-1"]["controls"] == ["SSH-001"] and exc["EXC-1"]["hosts"] == ["a"]
        assert exc["EXC-1"]["covered"] == [["a", "SSH-001"]] and exc["EXC-1"]["waived"] == [["a", "SSH-001"]]
        assert exc["EXC-0"]["state"] == "expired" and exc["EXC-0"]["covered"] == [["a", "SSH-001"]]
        assert run["deviations"] == [{"host": "a", "control": "FILE-004", "param": "max_age_days", "default": 30,
                                      "value": 90, "why": "accepts older evidence (90 instead of 30)"}]
        assert [(a["measure"], a["groups"], a["state"], a["status"]) for a in run["attestations"]] == [
            ("1.1", None, "valid", "attested"), ("1.3", ["prod"], "expired", "attestation_expired")]
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT exceptions_sha256, attestations_sha256 FROM runs").fetchone() == ("e" * 64,
                                                                                                      "a" * 64)
        assert conn.execute("SELECT entry_id, state FROM result_responses ORDER BY entry_id").fetchall() == [
            ("EXC-0", "expired"), ("EXC-1", "expiring")]
        conn.close()


def test_a_run_without_register_or_attestations_has_none_of_them(tmp_path):
    db = tmp_path / "history.db"
    with History(db) as h:
        h.import_run(write_run(tmp_path / "out", make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {}})))
    run = _register_rows(db, "r1")
    assert run["exceptions"] is None and run["attestations"] is None and run["deviations"] == []


def test_v3_database_is_migrated_to_v4_keeping_waived_results_and_taking_registers_from_then_on(tmp_path):
    db = tmp_path / "history.db"
    old = _with_register(make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {"SSH-001": "fail"}}))
    with History(db, target=3) as h:         # the code path of schema version 3: no register tables
        h.import_run(write_run(tmp_path / "out", old))
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'run_exceptions'").fetchone()[0] == 0
    conn.close()
    # a read-only reader of the v3 file sees the runs, and no register (None, not an error)
    from datetime import date
    from hardencheck.records.history import HistoryReader
    with HistoryReader(db) as r:
        runs, _ = r.period_runs(date(2026, 1, 1), date(2026, 1, 1))
        assert runs[0]["controls"]["SSH-001"]["waived"] == 1 and runs[0]["exceptions"] is None
    new = _with_register(make_doc("r2", "2026-01-01T01:00:00.000Z", {"a": {"SSH-001": "fail"}}))
    with History(db) as h:                   # today's code migrates to v4
        assert h.conn.execute("PRAGMA user_version").fetchone()[0] == 4
        assert h.results("r1")[("a", "SSH-001")]["status"] == "waived"
        h.import_run(write_run(tmp_path / "out", new))
        cols = {r[1] for r in h.conn.execute("PRAGMA table_info(runs)")}
        assert {"exceptions_sha256", "attestations_sha256"} <= cols
    assert _register_rows(db, "r1")["exceptions"] is None
    assert [e["id"] for e in _register_rows(db, "r2")["exceptions"]] == ["EXC-0", "EXC-1"]


def test_a_killed_run_keeps_the_register_given_at_begin(tmp_path):
    doc = _with_register(make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {"SSH-001": "fail"}}))
    db = tmp_path / "history.db"
    rec = HistoryRecorder(db)
    rec.begin(_recorder_run(doc), doc["controls"], {}, None, None,
              register={k: doc[k] for k in ("exceptions", "deviations", "attestations")})
    rec.host_done({"host": doc["hosts"][0], "results": doc["results"], "evidence": {}}, "hosts/a.json", "0" * 64)
    rec.close()                                # never ended: as after a SIGKILL
    run = _register_rows(db, "r1")
    assert [e["id"] for e in run["exceptions"]] == ["EXC-0", "EXC-1"]
    assert {e["id"]: e["waived"] for e in run["exceptions"]} == {"EXC-0": [], "EXC-1": [["a", "SSH-001"]]}
    assert [a["status"] for a in run["attestations"]] == ["attested", "attestation_expired"]
    assert len(run["deviations"]) == 1
