"""hardencheck history / diff / prune / import through the real CLI entry point."""

from __future__ import annotations

import json

from hardencheck.cli import main
from tests.records.test_history import make_doc, write_run


def test_import_history_diff_prune(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HARDENCHECK_HISTORY", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "reports"
    f1 = write_run(out, make_doc("r1", "2020-01-01T00:00:00.000Z", {"a": {"SSH-001": "pass"}}))
    f2 = write_run(out, make_doc("r2", "2020-01-02T00:00:00.000Z", {"a": {"SSH-001": "fail"}}))
    assert main(["history"]) == 3                                  # no history yet: said so, nothing created
    assert "no run history there" in capsys.readouterr().err and not (out / "history.db").exists()
    assert main(["import", str(f1), str(f2), str(tmp_path / "nope")]) == 3
    o = capsys.readouterr()
    assert "r1: imported (complete)" in o.out and "r2: imported (complete)" in o.out and "not a run folder" in o.err
    assert (out / "history.db").exists()                           # default: <out>/history.db
    assert main(["history", "--json"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)["runs"]] == ["r1", "r2"]
    assert main(["diff", "--json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert [(e["host"], e["control"]) for e in cmp["new_failures"]] == [("a", "SSH-001")]
    assert main(["diff", "r2"]) == 0 and "1 new failures" in capsys.readouterr().out
    assert main(["diff", "r1", "nope"]) == 3
    assert main(["prune", "--keep", "soon"]) == 3 and "--keep" in capsys.readouterr().err
    assert main(["prune", "--keep", "1d", "--dry-run"]) == 0
    assert "2 run(s) older than 1d would be removed" in capsys.readouterr().out and f1.exists()
    assert main(["prune", "--keep", "1w"]) == 0
    assert "recorded in the history and in pruned.jsonl" in capsys.readouterr().out
    assert not f1.exists() and not f2.exists()
    assert len((out / "pruned.jsonl").read_text().splitlines()) == 2
    assert main(["history", "--json"]) == 0 and json.loads(capsys.readouterr().out)["runs"] == []
