"""The history's interned texts (messages, evidence-id lists) on a real SQLite file: looked up per
host in one query per chunk, the cache bounded, and every result row pointing at its own text."""

from __future__ import annotations

import json

from hardencheck.records.history import HistoryRecorder
from hardencheck.records.history import store as store_mod

RUN = {"id": "r1", "started_at": "2026-12-07T00:00:00.000Z", "inventory": {"path": "lab.yml", "hosts": []}}


def host_json(name: str, n: int) -> dict:
    results = [{"host": name, "control": f"C-{i:03d}", "status": "fail" if i % 3 else "pass", "severity": "low",
                "reason": None, "message": f"value {i % 7} (shared)" if i % 2 else f"{name} only {i}",
                "evidence": {"sections": [f"{name}/probe-{i}/cmd"]} if i % 5 else {}}
               for i in range(n)]
    results[0]["message"] = ""          # no text: NULL, as before
    return {"host": {"name": name, "status": "ok", "identity": {}}, "results": results}


def test_every_result_points_at_its_own_texts_with_a_small_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "_TEXT_CACHE", 40)      # emptied several times below
    monkeypatch.setattr(store_mod, "_CHUNK", 7)            # several lookup chunks per host
    rec = HistoryRecorder(tmp_path / "h.db")
    rec.begin(RUN, [], {}, None, None)
    hosts = [host_json(f"web{k}", 60) for k in range(5)]
    for h in hosts:
        rec.host_done(h, None, None)
    rec.host_done(hosts[2], None, None)                     # again: replaced, texts reused
    got = {(h, c): (m, e) for h, c, m, e in rec.conn.execute(
        "SELECT h.name, c.name, tm.text, te.text FROM results r JOIN hosts h ON h.id = r.host"
        " JOIN controls c ON c.id = r.control LEFT JOIN texts tm ON tm.id = r.message"
        " LEFT JOIN texts te ON te.id = r.evidence")}
    want = {(h["host"]["name"], r["control"]): (r["message"] or None,
                                                 json.dumps(r["evidence"]["sections"]) if r["evidence"] else None)
            for h in hosts for r in h["results"]}
    assert got == want
    n_texts = rec.conn.execute("SELECT count(*) FROM texts").fetchone()[0]
    assert n_texts == len({t for t in (v for pair in want.values() for v in pair) if t})   # each text once
    assert len(rec._texts) <= 40 + 60 * 2


def test_hosts_that_finished_together_are_recorded_in_one_transaction(tmp_path):
    """hosts_done: a batch is recorded whole or not at all (one commit, one disk sync)."""
    rec = HistoryRecorder(tmp_path / "h.db")
    rec.begin(RUN, [], {}, None, None)
    rec.hosts_done([(host_json(f"web{k}", 10), f"hosts/web{k}.json", "0" * 64) for k in range(3)])
    broken = host_json("db1", 10)
    broken["results"][5]["status"] = object()               # cannot be stored: the batch fails
    try:
        rec.hosts_done([(host_json("db0", 10), None, None), broken])
    except Exception:                                       # noqa: BLE001 - sqlite's own error
        pass
    else:
        raise AssertionError("the broken host was stored")
    names = sorted(r[0] for r in rec.conn.execute(
        "SELECT h.name FROM run_hosts rh JOIN hosts h ON h.id = rh.host WHERE rh.run = ?", (rec.run_pk,)))
    assert names == ["web0", "web1", "web2"]                # db0 went with the broken db1
    assert rec.conn.execute("SELECT count(*) FROM results").fetchone()[0] == 30
