"""scan --skip-tags: controls with one of the tags are deselected ('skipped', not run in this scan),
recorded in run.options; an unknown tag stops the scan before anything runs."""

from __future__ import annotations

import json

from hardencheck.cli import main


def test_skip_tags_leaves_the_walks_out(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["scan", "--out", str(out), "--control", "FILE-001,FILE-004", "--skip-tags", "filesystem-walk",
                 "--format", "json", "--quiet", "--no-history"])
    assert code in (0, 1, 2)
    [doc] = [json.loads(p.read_text()) for p in out.glob("*/results.json")]
    status = {r["control"]: r["status"] for r in doc["results"]}
    assert status["FILE-001"] == "skipped" and status["FILE-004"] != "skipped"
    assert doc["run"]["options"]["skip_tags"] == ["filesystem-walk"]
    assert main(["scan", "--out", str(tmp_path / "x"), "--skip-tags", "no-such-tag", "--quiet"]) == 3
    assert "no-such-tag" in capsys.readouterr().err
