"""Drift between two runs of a real history file: every list, exactly."""

from __future__ import annotations

import json

from hardencheck.records import drift
from hardencheck.records.history import History
from tests.records.test_history import SHA, make_doc, write_run


def _pairs(entries):
    return sorted((e["host"], e["control"], e["before"], e["after"]) for e in entries)


def every_kind_of_change(tmp_path):
    """The comparison of two runs that has an entry in every list."""
    out = tmp_path / "out"
    old = make_doc("r1", "2026-01-01T00:00:00.000Z", {
        "a": {"SSH-001": "fail", "SSH-002": "fail", "FW-001": "pass", "FILE-004": "error"},
        "b": {"SSH-001": "pass", "SSH-002": "fail", "FW-001": "fail"},
        "gone": {"SSH-001": "fail"},
        "down": {"SSH-001": "pass", "FW-001": "fail"},
    })
    new_controls = dict(SHA)
    new_controls["SSH-002"] = "9" * 64          # the control changed
    del new_controls["FILE-004"]                 # removed from the library
    new_controls["NET-001"] = "n" * 64          # added
    new = make_doc("r2", "2026-01-02T00:00:00.000Z", {
        "a": {"SSH-001": "pass", "SSH-002": "fail", "FW-001": "fail", "NET-001": "fail"},
        "b": {"SSH-001": "fail", "SSH-002": "not_applicable", "FW-001": "fail"},
        "down": {"SSH-001": "error", "FW-001": "error"},
        "added": {"SSH-001": "fail", "FW-001": "pass"},
    }, controls=new_controls, host_errors={"down": "unreachable"})
    with History(tmp_path / "h.db") as h:
        h.import_run(write_run(out, old))
        h.import_run(write_run(out, new))
        cmp = drift.compare(h, "r1", "r2")
        assert drift.compare_with_previous(h, "r2") == cmp
        assert drift.compare_with_previous(h, "r1") is None
    return cmp


def test_compare_lists_every_kind_of_change(tmp_path):
    cmp = every_kind_of_change(tmp_path)
    json.dumps(cmp)
    assert _pairs(cmp["new_failures"]) == [("a", "FW-001", "pass", "fail"), ("a", "NET-001", None, "fail"),
                                           ("added", "SSH-001", None, "fail"), ("b", "SSH-001", "pass", "fail")]
    # most severe first, then by control and host (NET-001 is "low" in these documents)
    assert [(e["control"], e["host"]) for e in cmp["new_failures"]] == [
        ("FW-001", "a"), ("SSH-001", "added"), ("SSH-001", "b"), ("NET-001", "a")]
    assert _pairs(cmp["still_failing"]) == [("a", "SSH-002", "fail", "fail"), ("b", "FW-001", "fail", "fail")]
    assert _pairs(cmp["fixed"]) == [("a", "SSH-001", "fail", "pass"), ("b", "SSH-002", "fail", "not_applicable")]
    assert _pairs(cmp["failures_not_rechecked"]) == [("down", "FW-001", "fail", "error")]
    assert _pairs(cmp["new_errors"]) == [("down", "FW-001", "fail", "error"), ("down", "SSH-001", "pass", "error")]
    assert _pairs(cmp["errors_resolved"]) == []          # a's FILE-004 error: control removed
    assert cmp["hosts_added"] == [{"host": "added", "status": "ok", "reason": None}]
    assert cmp["hosts_gone"] == [{"host": "gone", "why": "not_in_run", "failing_before": 1}]
    assert cmp["hosts_unreachable"] == [{"host": "down", "reason": "unreachable", "message": "unreachable on down"}]
    assert [c["control"] for c in cmp["controls_added"]] == ["NET-001"]
    assert [c["control"] for c in cmp["controls_removed"]] == ["FILE-004"]
    assert [(c["control"], c["sha256_before"], c["sha256"]) for c in cmp["controls_changed"]] == [
        ("SSH-002", SHA["SSH-002"], "9" * 64)]
    assert cmp["counts"]["new_failures"] == 4 and cmp["same_inventory"]
    assert (cmp["old"]["run_id"], cmp["new"]["run_id"]) == ("r1", "r2")

    # the CI gate counts new failures only, at or above the threshold (NET-001 is "low" here)
    assert len(drift.new_failures_at_or_above(cmp, "high")) == 3
    assert len(drift.new_failures_at_or_above(cmp, "low")) == 4
    assert drift.new_failures_at_or_above(cmp, "critical") == []
    assert drift.new_failures_at_or_above(cmp, "none") == []


def test_interrupted_new_run_reports_unscanned_hosts_as_gone_not_fixed(tmp_path):
    out = tmp_path / "out"
    with History(tmp_path / "h.db") as h:
        h.import_run(write_run(out, make_doc("r1", "2026-01-01T00:00:00.000Z",
                                             {"a": {"SSH-001": "fail"}, "b": {"SSH-001": "fail"}})))
        h.import_run(write_run(out, make_doc("r2", "2026-01-02T00:00:00.000Z", {"a": {"SSH-001": "fail"}},
                                             planned=["a", "b"], complete=False)))
        cmp = drift.compare(h, "r1", "r2")
        # an interrupted run is never "the previous one" by default
        h.import_run(write_run(out, make_doc("r3", "2026-01-03T00:00:00.000Z", {"a": {}, "b": {}})))
        assert drift.compare_with_previous(h, "r3")["old"]["run_id"] == "r1"
    assert cmp["hosts_gone"] == [{"host": "b", "why": "not_scanned", "failing_before": 1}]
    assert cmp["fixed"] == [] and _pairs(cmp["still_failing"]) == [("a", "SSH-001", "fail", "fail")]
    assert cmp["new"]["state"] == "interrupted"


def test_markdown_summary_has_the_changes_section(tmp_path):
    from hardencheck.report.rendering import render

    out = tmp_path / "out"
    old = make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {"SSH-001": "fail", "FW-001": "pass"}})
    new = make_doc("r2", "2026-01-02T00:00:00.000Z", {"a": {"SSH-001": "pass", "FW-001": "fail"},
                                                     "b|<x>": {"SSH-001": "fail"}})
    with History(tmp_path / "h.db") as h:
        h.import_run(write_run(out, old))
        h.import_run(write_run(out, new))
        new["comparison"] = drift.compare(h, "r1", "r2")
    en = render("md", new, "en").decode()
    de = render("md", new, "de").decode()
    assert "### Changes since the previous run" in en
    assert "### Änderungen seit dem vorigen Lauf" in de
    assert "r1" in en and "| 2 | 0 | 1 |" in en     # new failures, new errors, fixed
    assert "b\\|&lt;x&gt;" in en and "<x>" not in en    # host names are escaped
    assert "Changes since" not in render("md", old, "en").decode()


def test_a_waived_failure_is_neither_fixed_nor_unchecked_and_an_expired_waiver_is_a_new_failure(tmp_path):
    out = tmp_path / "out"
    with History(tmp_path / "h.db") as h:
        h.import_run(write_run(out, make_doc("r1", "2026-01-01T00:00:00.000Z", {"a": {"SSH-002": "fail"}})))
        h.import_run(write_run(out, make_doc("r2", "2026-01-02T00:00:00.000Z", {"a": {"SSH-002": "waived"}})))
        h.import_run(write_run(out, make_doc("r3", "2026-01-03T00:00:00.000Z", {"a": {"SSH-002": "fail"}})))
        waived = drift.compare(h, "r1", "r2")
        expired = drift.compare(h, "r2", "r3")
    assert waived["fixed"] == [] and waived["failures_not_rechecked"] == [] and waived["new_failures"] == []
    assert _pairs(expired["new_failures"]) == [("a", "SSH-002", "waived", "fail")]
