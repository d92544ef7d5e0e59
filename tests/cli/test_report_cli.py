"""`hardencheck report`: formats rendered from a saved run, no rescanning."""

import json

from hardencheck.cli import main


def saved_run(tmp_path):
    assert main(["scan", "--out", str(tmp_path / "reports"), "--control", "RAID-001", "--quiet"]) in (0, 1, 2)
    (run,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    return run


def test_report_renders_json_into_another_folder(tmp_path, capsys):
    run = saved_run(tmp_path)
    out = tmp_path / "copy"
    assert main(["report", str(run), "--format", "json", "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text()) == json.loads((run / "results.json").read_text())
    assert "report:" in capsys.readouterr().out


def test_report_refuses_unknown_formats_and_schemas(tmp_path, capsys):
    run = saved_run(tmp_path)
    assert main(["report", str(run), "--format", "docx"]) == 3
    assert "unknown report format(s) docx" in capsys.readouterr().err
    doc = json.loads((run / "results.json").read_text())
    doc["schema_version"] = "2.0"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main(["report", str(bad), "--format", "json", "--out", str(tmp_path / "x")]) == 3
    assert "unsupported schema_version" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing")]) == 3


def test_a_broken_renderer_costs_neither_results_nor_other_reports(tmp_path, monkeypatch, capsys):
    import hardencheck.report.markdown as md

    def boom(view, lang):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(md, "render", boom)
    out = tmp_path / "reports"
    code = main(["scan", "--out", str(out), "--control", "RAID-001", "--quiet", "--format", "json,md,csv"])
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    assert (run / "results.json").exists() and (run / "results.csv").exists()
    assert not (run / "summary.md").exists()
    assert code != 0
    err = capsys.readouterr().err
    assert "the md report could not be rendered (RuntimeError: renderer bug)" in err
    assert main(["report", str(run), "--format", "md", "--out", str(tmp_path / "md")]) == 2


def test_report_never_writes_into_a_sealed_bundle(tmp_path, capsys):
    run = saved_run(tmp_path)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    # without --out: into a folder beside the bundle, and it says where
    assert main(["report", str(run), "--format", "md"]) == 0
    beside = run.parent / f"{run.name}-reports"
    assert (beside / "summary.md").is_file()
    out = capsys.readouterr().out
    assert f"writing the reports to {beside}" in out and f"report: {beside / 'summary.md'}" in out
    # --out naming the bundle itself is refused
    assert main(["report", str(run), "--format", "md", "--out", str(run)]) == 3
    assert "sealed run bundle" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert main(["verify", str(run)]) == 0


def test_html_report_quotes_the_sha256_of_results_json(tmp_path):
    import hashlib

    out = tmp_path / "reports"
    main(["scan", "--out", str(out), "--control", "RAID-001", "--quiet"])
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    sha = hashlib.sha256((run / "results.json").read_bytes()).hexdigest()
    assert sha in (run / "report.html").read_text()
    assert (run / "junit.xml").exists()
    # re-rendered later in German, from the saved file: the same hash
    assert main(["report", str(run), "--format", "html", "--lang", "de", "--out", str(tmp_path / "de")]) == 0
    html = (tmp_path / "de" / "report.html").read_text()
    assert sha in html and 'lang="de"' in html
