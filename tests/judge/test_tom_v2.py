"""Catalog format 2 (issue 17): one language, ids as documents write them, inheritance, every
error in one pass, and the roll-up of proof, kind, require and a measure's own parameters."""

from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge import tom
from hardencheck.judge.controls import load_controls

GERMAN = """\
format: 2
catalog:
  id: muster-tom
  title: {de: TOM der Muster GmbH}
  version: "2.1"
  date: 2026-03-01
items:
  - id: "§ 3"
    title: {de: "Zugang [Admin] und [lit. b]"}
    text: {de: Nur befugte Personen erhalten Zugang.}
    category: zugangskontrolle
    art32: [b, "25(1)"]
    items:
      - id: "§ 3.1.2.a"
        title: {de: Anmeldung nur mit Schlüssel}
        controls: [SSH-001]
      - id: "§ 3 Zwei-Faktor"
        title: {de: Zwei Faktoren für Administratoren}
        kind: technical
      - id: Schulung Ü
        title: {de: Jährliche Schulung}
        category: datenschutzmanagement
        art32: [d]
  - id: "§ 4"
    title: {de: Sicherung}
    category: wiederherstellbarkeit
    art32: [c]
    items:
      - id: "§ 4.1"
        title: {de: Stündliche Sicherung außer Haus}
        proof: partial
        controls: [{id: BACKUP-001, params: {max_age: 1h}}]
      - id: "§ 4.2"
        title: {de: Tägliche Sicherung auf gespiegelten Platten}
        require: all_hosts
        controls: [{id: BACKUP-001, params: {max_age: 26h}}, RAID-001]
"""


@pytest.fixture(scope="module")
def library():
    return load_controls()


def write(tmp_path, text, name="cat.yml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_german_only_catalog_with_paragraph_ids_lints_clean(tmp_path, capsys, library):
    p = write(tmp_path, GERMAN)
    assert main(["tom", "lint", "--tom", str(p)]) == 0
    out = capsys.readouterr().out
    assert "5 measure(s) OK" in out and "format 2" in out and "note:" not in out
    c = tom.load_catalog(p, library)
    m = {x.id: x for x in c.measures()}
    assert list(m) == ["§ 3.1.2.a", "§ 3 Zwei-Faktor", "Schulung Ü", "§ 4.1", "§ 4.2"]
    # category and art32 come from the group unless the measure says otherwise
    assert (m["§ 3.1.2.a"].category, m["§ 3.1.2.a"].articles, m["§ 3.1.2.a"].art32) == \
        ("zugangskontrolle", ["b", "25(1)"], "b")
    assert (m["Schulung Ü"].category, m["Schulung Ü"].articles) == ("datenschutzmanagement", ["d"])
    # one language is enough: the other falls back to it, marked
    assert m["§ 4.1"].title.get("en") == "Stündliche Sicherung außer Haus"
    assert m["§ 4.1"].title.marked("en") == "Stündliche Sicherung außer Haus (de)"
    assert m["§ 4.1"].title.marked("de") == "Stündliche Sicherung außer Haus"
    assert m["§ 4.1"].title.model_dump() == {"de": "Stündliche Sicherung außer Haus"}
    assert (m["§ 3 Zwei-Faktor"].kind, m["Schulung Ü"].kind, m["§ 3.1.2.a"].kind) == \
        ("technical", "organisational", "technical")
    assert c.parameter_sets() == {"BACKUP-001": {'{"max_age": "1h"}': ({"max_age": "1h"}, ["§ 4.1"]),
                                                 '{"max_age": "26h"}': ({"max_age": "26h"}, ["§ 4.2"])}}
    assert c.items_of_control(plain=True) == {"SSH-001": ["§ 3.1.2.a"], "RAID-001": ["§ 4.2"]}


def test_a_broken_catalog_lists_every_error_at_once(tmp_path, capsys):
    broken = (GERMAN.replace("kind: technical", "kind: techy")
              .replace("id: Schulung Ü", 'id: "_Schulung"')
              .replace("art32: [c]", "art32: [c, e]")
              .replace("params: {max_age: 1h}", "params: {max_age: 1 hour, marker_path: /srv, nope: 1}")
              .replace("RAID-001]", "RAID-999]")
              .replace("title: {de: Sicherung}", "title: Sicherung")
              .replace("require: all_hosts", "require: some_hosts"))
    p = write(tmp_path, broken)
    assert main(["tom", "lint", "--tom", str(p)]) == 3
    err = capsys.readouterr().err
    expected = [
        ("19", "items[0].items[1].kind", "one of: technical, organisational"),
        ("20", "items[0].items[2].id", "is not an item id"),
        ("25", "items[1].title", "give the language"),
        ("27", "items[1].art32[1]", "'e' is not a GDPR reference"),
        ("32", "items[1].items[0].controls[0].params.max_age", "a duration"),
        ("32", "items[1].items[0].controls[0].params.marker_path", "changes what BACKUP-001's probe collects"),
        ("32", "items[1].items[0].controls[0].params.nope", "has no parameter 'nope'"),
        ("35", "items[1].items[1].require", "one of: all_hosts"),
        ("36", "items[1].items[1].controls[1]", "unknown control id 'RAID-999'"),
    ]
    for line, field, words in expected:
        assert f"cat.yml:{line} [{field}]: " in err and words in err.split(f"[{field}]: ", 1)[1].split("\n")[0], \
            (line, field, err)


@pytest.mark.parametrize("good", ["§ 3.1", "3.1.2.a", "Zugang-2", "A.2 (neu)", "Übung 1/2", "TOM_A.1", "7"])
def test_ids_as_documents_write_them(tmp_path, good, library):
    p = write(tmp_path, GERMAN.replace('"§ 3.1.2.a"', f'"{good}"'))
    assert good in [m.id for m in tom.load_catalog(p, library).measures()]


@pytest.mark.parametrize("bad", [" 3", "3 ", "§  3", "_3", "3;4", "a" * 41, "<b>"])
def test_ids_outside_the_rule_are_refused_saying_the_rule(tmp_path, bad, library):
    p = write(tmp_path, GERMAN.replace('"§ 3.1.2.a"', f'"{bad}"'))
    with pytest.raises(ConfigError) as e:
        tom.load_catalog(p, library)
    assert "1 to 40 characters" in str(e.value) and "items[0].items[0].id" in str(e.value)


def test_format_1_files_refuse_format_2_fields_and_lint_says_how_to_migrate(tmp_path, capsys, library):
    v1 = Path(__file__).resolve().parents[2] / "controls" / "tom" / "example-acme.yml"
    assert main(["tom", "lint", "--tom", str(v1)]) == 0
    out = capsys.readouterr().out
    assert "format 1" in out and "add `format: 2`" in out
    p = write(tmp_path, GERMAN.replace("format: 2\n", ""))
    with pytest.raises(ConfigErrors) as e:
        tom.load_catalog(p, library)
    text = str(e.value)
    assert "`kind` is format 2" in text and "a control with its own params is format 2" in text
    assert "a list of references is format 2" in text


def test_an_organisational_measure_names_no_controls(tmp_path, library):
    p = write(tmp_path, GERMAN.replace("        kind: technical\n", "        kind: organisational\n"
                                                                      "        controls: [SSH-002]\n"))
    with pytest.raises(ConfigError) as e:
        tom.load_catalog(p, library)
    assert "an organisational measure names no controls" in str(e.value)


# -- roll-up ------------------------------------------------------------------------------------

def rollup(tmp_path, library, results, measure_results=(), attestation=None, hosts=("a",)):
    c = tom.load_catalog(write(tmp_path, GERMAN), library)
    return {i["id"]: i for i in tom.rollup(c, results, list(hosts), attestation=attestation,
                                           measure_results=list(measure_results))}


def base(status_ssh="pass", status_backup="pass", status_raid="pass", host="a"):
    return [{"host": host, "control": "SSH-001", "status": status_ssh},
            {"host": host, "control": "BACKUP-001", "status": status_backup},
            {"host": host, "control": "RAID-001", "status": status_raid}]


def variant(status, key, host="a"):
    return {"host": host, "control": "BACKUP-001", "key": key, "status": status}


H1, H26 = '{"max_age": "1h"}', '{"max_age": "26h"}'


def test_partial_measure_is_partly_verified_without_an_attestation_and_met_with_one(tmp_path, library):
    vs = [variant("pass", H1), variant("pass", H26)]
    items = rollup(tmp_path, library, base(), vs)
    assert items["§ 4.1"]["hosts"] == {"a": "partly_verified"} and items["§ 4.1"]["status"] == "partly_verified"
    attested = rollup(tmp_path, library, base(), vs, attestation=lambda m, h: "attested" if m == "§ 4.1" else None)
    assert attested["§ 4.1"]["status"] == "met"
    for other in ("not_attested", "attestation_expired", "not_verified"):
        items = rollup(tmp_path, library, base(), vs, attestation=lambda m, h, o=other: o)
        assert items["§ 4.1"]["status"] != "met"
    # a failing control is not met, attestation or not
    failed = rollup(tmp_path, library, base(), [variant("fail", H1), variant("pass", H26)],
                    attestation=lambda m, h: "attested")
    assert failed["§ 4.1"]["status"] == "not_met"


def test_each_measure_is_judged_by_its_own_parameter_set(tmp_path, library):
    # the host's own BACKUP-001 result (26 h default) passes; the hourly set fails, the daily passes
    items = rollup(tmp_path, library, base(), [variant("fail", H1), variant("pass", H26)])
    assert items["§ 4.1"]["status"] == "not_met" and items["§ 4.2"]["status"] == "met"
    assert items["§ 4.1"]["uses"] == [{"control": "BACKUP-001", "params": {"max_age": "1h"}, "key": H1}]
    # no result for a parameter set: never a pass
    items = rollup(tmp_path, library, base(), [variant("pass", H1)])
    assert items["§ 4.2"]["status"] == "not_verified"


def test_technical_measure_without_controls_is_not_checked(tmp_path, library):
    items = rollup(tmp_path, library, base(), [variant("pass", H1), variant("pass", H26)])
    assert items["§ 3 Zwei-Faktor"]["status"] == "not_checked"
    assert items["Schulung Ü"]["status"] == "organisational"
    assert items["§ 3"]["status"] == "not_checked"          # a gap is never hidden by its group
    attested = rollup(tmp_path, library, base(), [variant("pass", H1), variant("pass", H26)],
                      attestation=lambda m, h: "not_attested")
    assert attested["§ 3 Zwei-Faktor"]["status"] == "not_checked"
    assert attested["Schulung Ü"]["status"] == "not_attested"


def test_require_all_hosts_makes_not_applicable_not_verified(tmp_path, library):
    results = base(status_raid="not_applicable") + base(host="b")
    vs = [variant("pass", H26), variant("pass", H26, "b"), variant("pass", H1), variant("pass", H1, "b")]
    items = rollup(tmp_path, library, results, vs, hosts=("a", "b"))
    assert items["§ 4.2"]["hosts"] == {"a": "not_verified", "b": "met"}
    assert items["§ 4.2"]["status"] == "not_verified"
    # without require: all_hosts, not applicable leaves the other controls to decide
    assert tom.measure_status(["pass", "not_applicable"]) == "met"
    assert tom.measure_status(["pass", "not_applicable"], all_hosts=True) == "not_verified"
    assert tom.measure_status(["fail", "not_applicable"], all_hosts=True) == "not_met"


def test_tom_show_escapes_markup_and_renders_group_text(tmp_path, capsys):
    p = write(tmp_path, GERMAN)
    assert main(["tom", "show", "--tom", str(p), "--lang", "de"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "Zugang [Admin] und [lit. b]" in out
    assert "Nur befugte Personen erhalten Zugang." in out
    assert "technisch, nicht geprüft" in out and "teilweise" in out
    assert main(["tom", "show", "--tom", str(p), "--lang", "en"]) == 0
    assert "Anmeldung nur mit Schlüssel (de)" in " ".join(capsys.readouterr().out.replace("│", " ").split())


def test_coverage_table_counts_each_class(tmp_path, capsys):
    p = write(tmp_path, GERMAN)
    assert main(["tom", "coverage", str(p), "--markdown"]) == 0         # the file as an argument too
    out = capsys.readouterr().out
    assert "| fully proven by controls | 2 | 40 % |" in out
    assert "| partly proven by controls (met only with an attestation for the rest) | 1 | 20 % |" in out
    assert "| technical, not checked (no control yet: a coverage gap) | 1 | 20 % |" in out
    assert "| organisational (a person attests it) | 1 | 20 % |" in out
    assert '| § 4.1 | Stündliche Sicherung außer Haus (de) | partial | BACKUP-001 {"max_age": "1h"} |' in out


TOM_DIR = Path(__file__).resolve().parents[2] / "controls" / "tom"


def test_the_readme_example_lints_clean(tmp_path, library):
    readme = (TOM_DIR / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    c = tom.load_catalog(write(tmp_path, example), library)
    kinds = {m.id: (m.kind, m.proof, m.require, tom.proof_class(m)) for m in c.measures()}
    assert kinds["§ 3.2"] == ("technical", "partial", "all_hosts", "partial")
    assert kinds["§ 3.3"][3] == "not_checked" and kinds["§ 3.4"][3] == "organisational"


@pytest.mark.parametrize("name,lang", [("example-hoster.yml", "de"), ("example-saas.yml", "en")])
def test_readme_coverage_tables_are_the_tools_output(name, lang, capsys, library):
    assert main(["tom", "lint", "--tom", str(TOM_DIR / name)]) == 0
    capsys.readouterr()
    assert main(["tom", "coverage", "--tom", str(TOM_DIR / name), "--markdown", "--lang", lang]) == 0
    table = capsys.readouterr().out.strip()
    assert table.startswith("Coverage of ") and "| fully proven by controls |" in table
    assert table in (TOM_DIR / "README.md").read_text(encoding="utf-8"), \
        f"controls/tom/README.md is not up to date for {name}: paste `hardencheck tom coverage --markdown` output"


def test_only_catalog_refuses_a_catalog_that_maps_no_control(tmp_path, capsys):
    p = write(tmp_path, GERMAN.split("  - id: \"§ 4\"")[0].replace("        controls: [SSH-001]\n", ""))
    assert main(["scan", "--tom", str(p), "--only-catalog", "--out", str(tmp_path / "r")]) == 3
    assert "maps no control: --only-catalog would run nothing" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_scan_checks_a_measures_params_before_anything_connects(tmp_path, capsys):
    p = write(tmp_path, GERMAN.replace("max_age: 1h", "max_age: soon"))
    assert main(["scan", "--tom", str(p), "--out", str(tmp_path / "r")]) == 3
    assert "[items[1].items[0].controls[0].params.max_age]" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
