"""The TOM catalog: validation with file/line/field, roll-up rules, coverage, `tom` commands."""

from pathlib import Path

import pytest
import yaml

from hardencheck.judge import tom
from hardencheck.cli import main
from hardencheck.judge.controls import load_controls
from hardencheck.errors import ConfigError, ConfigErrors

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = [ROOT / "controls" / "tom" / name for name in
            ("default.yml", "example-acme.yml", "example-hoster.yml", "example-saas.yml")]

MINI = """\
catalog:
  id: mini
  title: {de: Mini-TOM, en: Mini TOM}
  version: "1"
  date: 2026-01-01
items:
  - id: "1"
    title: {de: Zugang, en: Access}
    items:
      - id: "1.1"
        title: {de: Schlüssel, en: Keys}
        text: {de: Nur Schlüssel., en: Keys only.}
        category: zugangskontrolle
        art32: b
        controls: [SSH-001]
      - id: "1.2"
        title: {de: Schulung, en: Training}
        text: {de: Jährlich., en: Yearly.}
        category: datenschutzmanagement
        art32: d
        controls: []
"""


def errors(tmp_path, text, ids=frozenset({"SSH-001", "FW-001"})):
    p = tmp_path / "cat.yml"
    p.write_text(text)
    with pytest.raises(ConfigError) as ei:
        tom.load_catalog(p, set(ids))
    e = ei.value
    return e.errors if isinstance(e, ConfigErrors) else [e]


def test_mini_catalog_loads(tmp_path):
    p = tmp_path / "cat.yml"
    p.write_text(MINI)
    c = tom.load_catalog(p, {"SSH-001"})
    assert [m.id for m in c.measures()] == ["1.1", "1.2"]
    assert c.items_of_control() == {"SSH-001": ["1.1"]}


@pytest.mark.parametrize("change,line,field,words", [
    (("controls: [SSH-001]", "controls: [SSH-001, NOPE-001]"), 15, "items[0].items[0].controls[1]", "unknown control id"),
    (('- id: "1.2"', '- id: "1.1"'), 16, "items[0].items[1].id", "duplicate item id"),
    (("text: {de: Jährlich., en: Yearly.}", "text: {fr: Yearly.}"), 18, "items[0].items[1].text.fr", "unknown language"),
    (("title: {de: Schlüssel, en: Keys}", "title: {}"), 11, "items[0].items[0].title", "at least one of"),
    (("title: {de: Schlüssel, en: Keys}", "title: Keys"), 11, "items[0].items[0].title", "give the language"),
    (("category: zugangskontrolle", "category: zugang"), 10, "items[0].items[0].category", "unknown category"),
    (("art32: b", "art32: e"), 10, "items[0].items[0].art32", "'a'"),
    (('- id: "1.2"', "- id: 1.2"), 16, "items[0].items[1].id", "quote item ids"),
])
def test_broken_catalog_names_file_line_and_field(tmp_path, change, line, field, words):
    errs = errors(tmp_path, MINI.replace(*change, 1))
    assert any(e.file.endswith("cat.yml") and e.field == field and words in e.message and
               (e.line == line or field.endswith("category") or field.endswith("art32")) for e in errs), \
        [str(e) for e in errs]


def test_a_measure_needs_its_fields(tmp_path):
    errs = errors(tmp_path, MINI.replace("        art32: d\n", "", 1))
    assert any("needs art32" in e.message for e in errs)


def test_measure_status_rules():
    assert tom.measure_status([]) == "organisational"
    assert tom.measure_status(["pass", "fail", "error"]) == "not_met"
    assert tom.measure_status(["pass", "error"]) == "not_verified"
    assert tom.measure_status(["pass", "not_applicable"]) == "met"
    assert tom.measure_status(["not_applicable"]) == "not_applicable"
    assert tom.measure_status(["skipped", "not_applicable"]) == "not_assessed"


def test_rollup_per_host_overall_and_groups(tmp_path):
    p = tmp_path / "cat.yml"
    p.write_text(MINI.replace("controls: [SSH-001]", "controls: [SSH-001, FW-001]"))
    c = tom.load_catalog(p, {"SSH-001", "FW-001"})
    results = [{"host": "a", "control": "SSH-001", "status": "pass"},
               {"host": "a", "control": "FW-001", "status": "pass"},
               {"host": "b", "control": "SSH-001", "status": "pass"},
               {"host": "b", "control": "FW-001", "status": "error"}]
    items = {i["id"]: i for i in tom.rollup(c, results, ["a", "b"])}
    assert items["1.1"]["hosts"] == {"a": "met", "b": "not_verified"}
    assert items["1.1"]["status"] == "not_verified"
    assert items["1.1"]["result_counts"] == {"pass": 3, "error": 1}
    assert items["1.2"]["status"] == "organisational"
    assert items["1"]["status"] == "not_verified" and items["1"]["group"] is True
    results[1]["status"] = "fail"
    assert {i["id"]: i for i in tom.rollup(c, results, ["a", "b"])}["1"]["status"] == "not_met"


def _independent_coverage(path, library_ids):
    """Coverage computed from the raw YAML, independently of hardencheck.judge.tom."""
    doc = yaml.safe_load(Path(path).read_text())
    organisational, mapped = [], set()

    def walk(items):
        for it in items:
            if "items" in it:
                walk(it["items"])
            else:
                ids = [c["id"] if isinstance(c, dict) else c for c in it.get("controls") or []]
                if not ids:
                    organisational.append(str(it["id"]))
                mapped.update(ids)
    walk(doc["items"])
    return organisational, [c for c in library_ids if c not in mapped]


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_shipped_catalogs_lint_and_coverage_is_exact(path, capsys):
    lib = [lc.id for lc in load_controls().controls]
    catalog = tom.load_catalog(path, set(lib))
    cov = tom.coverage(catalog, lib)
    org, unmapped = _independent_coverage(path, lib)
    assert {k: cov[k] for k in ("organisational_items", "unmapped_controls")} == \
        {"organisational_items": org, "unmapped_controls": unmapped}
    assert main(["tom", "coverage", "--tom", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{len(org)} item(s) without a technical control" in out
    assert f"{len(unmapped)} control(s) that prove no item" in out
    for i in org:
        assert f"  {i}  " in out


def test_default_catalog_covers_every_control_in_the_library():
    lib = [lc.id for lc in load_controls().controls]
    assert tom.coverage(tom.load_catalog(None, set(lib)), lib)["unmapped_controls"] == []


def test_tom_show_in_german(capsys):
    assert main(["tom", "show", "--lang", "de"]) == 0
    out = capsys.readouterr().out
    assert "Zugangskontrolle" in out and "Verschlüsselung" in out and "organisatorisch" in out
    assert "SSH-001" in out


def test_scan_refuses_a_catalog_with_unknown_controls(tmp_path, capsys):
    p = tmp_path / "cat.yml"
    p.write_text(MINI.replace("controls: [SSH-001]", "controls: [GONE-001]"))
    assert main(["scan", "--tom", str(p), "--out", str(tmp_path / "r")]) == 3
    assert "cat.yml:15 [items[0].items[0].controls[0]]: unknown control id 'GONE-001'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_catalog_from_the_environment(tmp_path, monkeypatch, capsys):
    p = tmp_path / "cat.yml"
    p.write_text(MINI)
    monkeypatch.setenv("HARDENCHECK_TOM", str(p))
    assert main(["tom", "show"]) == 0
    assert "Mini TOM" in capsys.readouterr().out
