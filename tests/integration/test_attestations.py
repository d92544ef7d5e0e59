"""Attestations of organisational measures through a real scan of this machine (local transport, no
lab): a valid attestation makes its measure `attested`, an expired one is not verified, a document
that is missing or not the attested version is an error in the report, the bundle keeps the file
and a copy of every document (manifest-listed), and a copy changed after recording is named by
`verify`. A hostile statement is inert in every format that shows it."""

import hashlib
import json
from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.records.bundle import document_from_hosts
from hardencheck.results import validate_document

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> ‮gnp.exe | `rm -rf` @all [x](javascript:alert(3)) \x1b[31mred"


def attestation_file(folder: Path, *, pinned: str | None = None, doc: bytes | None = b"Zutrittskonzept v1\n") -> Path:
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    if doc is not None:
        (folder / "docs" / "zutritt.txt").write_bytes(doc)
    pin = f"\n        sha256: {pinned}" if pinned else ""
    text = f"""\
attestations:
  - measure: "1.1"
    statement: {json.dumps(HOSTILE)}
    owner: Facility Management
    attested_by: Jana Beispiel (CISO)
    date: 2026-01-01
    valid_until: 2099-12-31
    evidence:
      - path: docs/zutritt.txt{pin}
      - url: https://intranet.example/access.pdf
        sha256: {"9f" * 32}
  - measure: "4.3"
    statement: The emergency plan was tested.
    owner: IT Operations
    attested_by: Max Mustermann
    date: 2024-01-01
    valid_until: 2025-12-31
"""
    p = folder / "attestations.yml"
    p.write_text(text, encoding="utf-8")
    return p


def scan(tmp_path, att: Path, *extra) -> tuple[int, Path, dict]:
    out = tmp_path / "reports"
    code = main(["scan", "--out", str(out), "--control", "KERN-001", "--no-history", "--attestations", str(att),
                 "--format", "html,md,json,junit,csv", *extra])
    run = sorted(p for p in out.iterdir() if p.is_dir())[-1]
    return code, run, json.loads((run / "results.json").read_text(encoding="utf-8"))


def items(doc):
    return {i["id"]: i for i in doc["tom"]["items"]}


def test_valid_attested_expired_not_verified_and_bundle_copies(tmp_path, capsys):
    att = attestation_file(tmp_path / "site")
    code, run, doc = scan(tmp_path, att)
    assert code in (0, 1, 2)
    validate_document(doc)
    assert doc["schema_version"] >= "1.3"
    it = items(doc)
    assert it["1.1"]["status"] == "attested" and set(it["1.1"]["hosts"].values()) == {"attested"}
    assert it["4.3"]["status"] == "attestation_expired"            # expired: not verified, never met
    assert it["1.3.4"]["status"] == "not_attested"                 # organisational, nobody attested it
    assert it["1"]["status"] != "met"
    block = doc["attestations"]
    assert block["file"]["sha256"] == hashlib.sha256(att.read_bytes()).hexdigest()
    e11, e43 = block["entries"]
    assert (e11["state"], e43["state"]) == ("valid", "expired")
    d, url = e11["evidence"]
    assert d["status"] == "ok" and d["sha256"] == hashlib.sha256(b"Zutrittskonzept v1\n").hexdigest()
    assert url["status"] == "ok" and url["checked"] is False and url["sha256"] == "9f" * 32
    # the bundle keeps the attestation file and a copy of the document, both listed in the manifest
    listed = {f["path"]: f["sha256"] for f in json.loads((run / "manifest.json").read_text())["files"]}
    assert listed[block["file"]["copy"]] == block["file"]["sha256"]
    assert listed[d["copy"]] == d["sha256"] and (run / d["copy"]).read_bytes() == b"Zutrittskonzept v1\n"
    assert json.loads((run / "run.json").read_text())["attestations"] == block
    assert document_from_hosts(run)["attestations"] == block       # also a killed run's document has them
    capsys.readouterr()
    assert main(["verify", str(run)]) == 0
    # later, somebody edits the recorded document in the bundle: verify names it
    (run / d["copy"]).write_bytes(b"Zutrittskonzept v2 (edited)\n")
    capsys.readouterr()
    assert main(["verify", str(run)]) == 1
    assert d["copy"] in capsys.readouterr().out
    # the reports show the attestation; the hostile statement is inert in each
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Jana Beispiel (CISO)" in html and d["sha256"] in html and "2099-12-31" in html
    assert block["file"]["sha256"] in html                          # which attestation file was used
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert "\u202e" not in html and "\x1b" not in html
    md = (run / "summary.md").read_text(encoding="utf-8")
    assert "Jana Beispiel (CISO)" in md and "<script>" not in md and "\u202e" not in md and "\x1b" not in md
    assert "\\[x\\](javascript" in md and "\\@all" in md and " @all" not in md   # no link, no mention
    for name in ("junit.xml", "results.csv"):                    # they do not show statements at all
        text = (run / name).read_text(encoding="utf-8-sig")
        assert "<script>" not in text


def test_terminal_and_german(tmp_path, capsys):
    att = attestation_file(tmp_path / "site")
    _, run, _ = scan(tmp_path, att, "--lang", "de")
    out = capsys.readouterr().out
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Bestätigt von" in html and "Bestätigung abgelaufen" in html and "Am Prüfdatum" in html
    assert "Bestätigungen organisatorischer Maßnahmen" in (run / "summary.md").read_text(encoding="utf-8")
    assert "Bestätigungen" in out and "abgelaufen" in out
    assert "\u202e" not in out and "\x1b[31m" not in out


def test_missing_or_changed_document_is_an_error_in_the_report(tmp_path, capsys):
    v1 = hashlib.sha256(b"Zutrittskonzept v1\n").hexdigest()
    # the document changed after it was attested (its pinned SHA-256 no longer matches)
    att = attestation_file(tmp_path / "changed", pinned=v1, doc=b"Zutrittskonzept v2\n")
    _, run, doc = scan(tmp_path / "a", att)
    d = doc["attestations"]["entries"][0]["evidence"][0]
    assert d["status"] == "mismatch" and d["expected_sha256"] == v1
    assert items(doc)["1.1"]["status"] == "not_verified"
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "CHANGED (SHA-256 differs)" in html and v1 in html
    out = capsys.readouterr().out
    assert "zutritt.txt" in out and "CHANGED" in out
    # the document is gone
    att = attestation_file(tmp_path / "missing", doc=None)
    _, run, doc = scan(tmp_path / "b", att)
    d = doc["attestations"]["entries"][0]["evidence"][0]
    assert d["status"] == "missing" and d["sha256"] is None
    assert items(doc)["1.1"]["status"] == "not_verified"
    assert "MISSING" in (run / "report.html").read_text(encoding="utf-8")
    assert "MISSING" in (run / "summary.md").read_text(encoding="utf-8")


def test_errors_before_anything_connects(tmp_path, capsys):
    att = attestation_file(tmp_path / "site")
    att.write_text(att.read_text().replace('measure: "4.3"', 'measure: "9.9"'))
    out = tmp_path / "reports"
    assert main(["scan", "--out", str(out), "--control", "KERN-001", "--no-history", "--attestations", str(att)]) == 3
    err = capsys.readouterr().err
    assert f"{att}:12" in err and "attestations[1].measure" in err and "unknown measure id '9.9'" in err
    assert not out.exists()


def test_attestations_from_hardencheck_yml(tmp_path, capsys):
    site = tmp_path / "site"
    attestation_file(site)
    (site / "hardencheck.yml").write_text("attestations: attestations.yml\n")
    out = tmp_path / "reports"
    main(["scan", "--out", str(out), "--control", "KERN-001", "--no-history", "--config", str(site / "hardencheck.yml"),
          "--format", "json"])
    (p,) = out.glob("*/results.json")
    assert items(json.loads(p.read_text()))["1.1"]["status"] == "attested"


def test_tom_coverage_lists_measures_without_control_or_attestation(tmp_path, capsys):
    att = attestation_file(tmp_path / "site")
    assert main(["tom", "coverage", "--attestations", str(att)]) == 0
    out = capsys.readouterr().out
    block = out.split("without a technical control and without an attestation")[1]
    assert "1.3.4" in block and "4.3" in block and "  1.1 " not in block


def test_history_records_a_run_with_attestations(tmp_path, capsys):
    """The run history takes the new roll-up statuses (it keeps the catalog tree, not the statuses)."""
    att = attestation_file(tmp_path / "site")
    history = tmp_path / "history.db"
    out = tmp_path / "reports"
    assert main(["scan", "--out", str(out), "--control", "KERN-001", "--history", str(history),
                 "--attestations", str(att), "--format", "json"]) in (0, 1, 2)
    capsys.readouterr()
    assert main(["history", "--history", str(history)]) == 0
    assert "complete" in capsys.readouterr().out
    assert main(["audit", "--history", str(history), "--from", "2026-01-01", "--to", "2099-12-31",
                 "--out", str(tmp_path / "audit")]) == 0
