"""History.last_scans (scope reconciliation): per host of one inventory its last successful scan and
its last attempt, other inventories and the excluded run left out; real SQLite files."""

from __future__ import annotations

from hardencheck.records.history import History
from tests.records.test_history import make_doc, write_run


def test_last_ok_and_last_attempt_per_host(tmp_path):
    out = tmp_path / "out"
    runs = [make_doc("r1", "2026-12-01T00:00:00.000Z", {"a": {"SSH-001": "pass"}, "b": {"SSH-001": "pass"}}),
            make_doc("r2", "2026-12-03T00:00:00.000Z", {"a": {"SSH-001": "pass"}, "b": {"SSH-001": "error"}},
                     host_errors={"b": "unreachable"}),
            make_doc("r3", "2026-12-05T00:00:00.000Z", {"a": {"SSH-001": "fail"}, "c": {"SSH-001": "error"}},
                     host_errors={"c": "auth_failed"}, planned=["a", "b", "c"]),
            make_doc("other", "2026-12-06T00:00:00.000Z", {"b": {"SSH-001": "pass"}}, inventory="other.yml")]
    with History(tmp_path / "h.db") as h:
        for doc in runs:
            h.import_run(write_run(out, doc))
        key = h.run("r1")["inventory_key"]
        got = h.last_scans(key)
        assert got["a"] == {"last_ok": "2026-12-05T00:00:00.000Z", "last_attempt": "2026-12-05T00:00:00.000Z",
                            "last_status": "ok", "last_reason": None}
        # b: not scanned in r3 (planned, not_scanned is no attempt); the other inventory's success does not count
        assert got["b"] == {"last_ok": "2026-12-01T00:00:00.000Z", "last_attempt": "2026-12-03T00:00:00.000Z",
                            "last_status": "error", "last_reason": "unreachable"}
        assert got["c"] == {"last_ok": None, "last_attempt": "2026-12-05T00:00:00.000Z", "last_status": "error",
                            "last_reason": "auth_failed"}
        assert h.last_scans(key, exclude_run="r3")["a"]["last_ok"] == "2026-12-03T00:00:00.000Z"
        assert "c" not in h.last_scans(key, exclude_run="r3")
        assert h.last_scans("nothing.yml") == {}
