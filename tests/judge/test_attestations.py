"""Attestations of organisational TOM measures: the file's validation (file, line, field), validity
on a UTC date, document hashes, and how the TOM roll-up counts them."""

import hashlib
from datetime import date
from pathlib import Path

import pytest

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge import attestations as att
from hardencheck.judge import tom

from tests.judge.test_tom import MINI

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
attestations:
  - measure: "1.2"
    statement: Every employee is trained yearly.
    owner: HR
    attested_by: Jana Beispiel (CISO)
    date: 2026-11-20
    valid_until: 2027-11-19
    evidence:
      - path: docs/training.pdf
      - url: https://intranet.example/training.pdf
        sha256: %s
""" % ("ab" * 32)


@pytest.fixture
def catalog(tmp_path):
    p = tmp_path / "cat.yml"
    p.write_text(MINI)
    return tom.load_catalog(p, {"SSH-001"})


def write(tmp_path, text, doc=b"training 2026"):
    (tmp_path / "docs").mkdir(exist_ok=True)
    if doc is not None:
        (tmp_path / "docs" / "training.pdf").write_bytes(doc)
    p = tmp_path / "att.yml"
    p.write_text(text)
    return p


def errors_of(tmp_path, text, catalog, groups=None):
    with pytest.raises(ConfigError) as ei:
        att.load_attestations(write(tmp_path, text), catalog, groups)
    e = ei.value
    return e.errors if isinstance(e, ConfigErrors) else [e]


def test_good_file_loads_and_evaluates(tmp_path, catalog):
    a = att.load_attestations(write(tmp_path, GOOD), catalog, set())
    assert a.sha256 == hashlib.sha256((tmp_path / "att.yml").read_bytes()).hexdigest()
    block, files = att.evaluate(a, date(2026, 12, 7))
    e = block["entries"][0]
    assert e["state"] == "valid" and e["date"] == "2026-11-20" and e["valid_until"] == "2027-11-19"
    doc, url = e["evidence"]
    assert doc["status"] == "ok" and doc["sha256"] == hashlib.sha256(b"training 2026").hexdigest()
    assert files[doc["copy"]] == b"training 2026" and doc["copy"].startswith("attestations/documents/")
    assert url == {"url": "https://intranet.example/training.pdf", "sha256": "ab" * 32, "status": "ok",
                   "checked": False}
    assert files[block["file"]["copy"]] == (tmp_path / "att.yml").read_bytes()
    assert att.entry_status(e) == "attested"


@pytest.mark.parametrize("change,line,field,words", [
    (('measure: "1.2"', 'measure: "9.9"'), 2, "attestations[0].measure", "unknown measure id '9.9'"),
    (('measure: "1.2"', 'measure: "1"'), 2, "attestations[0].measure", "a group of measures"),
    (('measure: "1.2"', 'measure: 1.2'), 2, "attestations[0].measure", "quote measure ids"),
    (("date: 2026-11-20", "date: 2026-11-20T10:00:00"), 6, "attestations[0].date", "UTC date"),
    (("valid_until: 2027-11-19", "valid_until: 2025-01-01"), 2, "attestations[0]", "before `date`"),
    (("    owner: HR\n", ""), 2, "attestations[0].owner", "Field required"),
    (("      - path: docs/training.pdf", "      - path: /etc/passwd"), 9, "attestations[0].evidence[0].path",
     "relative"),
    (("        sha256: " + "ab" * 32, "        size: 3"), 11, "attestations[0].evidence[1].size", "unknown field"),
    (("    owner: HR", "    owner: HR\n    groups: [nope]"), 5, "attestations[0].groups[0]", "matches no"),
])
def test_errors_name_file_line_field(tmp_path, catalog, change, line, field, words):
    errs = errors_of(tmp_path, GOOD.replace(*change), catalog, {"prod"})
    assert any(e.line == line and e.field == field and words in e.message and e.file.endswith("att.yml")
               for e in errs), [(e.line, e.field, e.message) for e in errs]


def test_url_needs_sha256(tmp_path, catalog):
    errs = errors_of(tmp_path, GOOD.replace("        sha256: " + "ab" * 32 + "\n", ""), catalog)
    assert any("needs its `sha256`" in e.message and e.field == "attestations[0].evidence[1]" for e in errs)


@pytest.mark.parametrize("today,state", [
    (date(2026, 11, 19), "not_yet_valid"), (date(2026, 11, 20), "valid"), (date(2027, 11, 19), "valid"),
    (date(2027, 11, 20), "expired")])
def test_validity_is_inclusive_utc_dates(tmp_path, catalog, today, state):
    a = att.load_attestations(write(tmp_path, GOOD), catalog)
    e = att.evaluate(a, today)[0]["entries"][0]
    assert e["state"] == state
    assert att.entry_status(e) == {"valid": "attested", "expired": "attestation_expired",
                                   "not_yet_valid": "not_attested"}[state]


def test_missing_and_changed_documents(tmp_path, catalog):
    a = att.load_attestations(write(tmp_path, GOOD, doc=None), catalog)
    block, files = att.evaluate(a, date(2026, 12, 1))
    d = block["entries"][0]["evidence"][0]
    assert d["status"] == "missing" and d["sha256"] is None and "copy" not in d
    assert att.entry_status(block["entries"][0]) == "not_verified"
    assert list(files) == ["attestations/att.yml"]
    pinned = GOOD.replace("      - path: docs/training.pdf",
                          "      - path: docs/training.pdf\n        sha256: " + hashlib.sha256(b"v1").hexdigest())
    a = att.load_attestations(write(tmp_path, pinned, doc=b"v2"), catalog)
    d = att.evaluate(a, date(2026, 12, 1))[0]["entries"][0]["evidence"][0]
    assert d["status"] == "mismatch" and d["sha256"] == hashlib.sha256(b"v2").hexdigest()
    assert d["expected_sha256"] == hashlib.sha256(b"v1").hexdigest()
    assert any("is mismatch" in p for p in att.problems(att.evaluate(a, date(2026, 12, 1))[0]))


def test_groups_and_best_entry_wins():
    block = {"entries": [
        {"measure": "1.2", "groups": ["prod*"], "state": "valid", "evidence": []},
        {"measure": "1.2", "groups": None, "state": "expired", "evidence": []},
    ]}
    assert att.measure_status(block, "1.2", {"prod-eu"}) == "attested"
    assert att.measure_status(block, "1.2", {"test"}) == "attestation_expired"
    assert att.measure_status(block, "1.2", None) == "attestation_expired"
    assert att.measure_status(block, "1.1", {"prod"}) == "not_attested"
    assert att.measure_status(None, "1.2", set()) is None


@pytest.mark.parametrize("technical,attested,combined", [
    (None, None, "organisational"),
    (None, "attested", "attested"),
    (None, "attestation_expired", "attestation_expired"),
    (None, "not_attested", "not_attested"),
    ("met", "attested", "met"),
    ("met", "not_attested", "met"),            # no attestation for a technical measure: nothing claimed
    ("met", "attestation_expired", "attestation_expired"),
    ("met", "not_verified", "not_verified"),
    ("not_met", "attested", "not_met"),        # a failure always wins
    ("not_met", "attestation_expired", "not_met"),
    ("not_verified", "attestation_expired", "not_verified"),
])
def test_with_attestation(technical, attested, combined):
    assert tom.with_attestation(technical, attested) == combined


def test_rollup_counts_attestations(catalog):
    results = [{"host": "a", "control": "SSH-001", "status": "pass"},
               {"host": "b", "control": "SSH-001", "status": "pass"}]
    plain = {i["id"]: i for i in tom.rollup(catalog, results, ["a", "b"])}
    assert plain["1.2"]["status"] == "organisational" and plain["1.1"]["status"] == "met"
    block = {"entries": [{"measure": "1.2", "groups": ["prod"], "state": "valid", "evidence": []},
                         {"measure": "1.1", "groups": None, "state": "expired", "evidence": []}]}
    res = att.resolver(block, {"a": {"prod"}, "b": set()})
    items = {i["id"]: i for i in tom.rollup(catalog, results, ["a", "b"], attestation=res)}
    assert items["1.2"]["hosts"] == {"a": "attested", "b": "not_attested"}
    assert items["1.2"]["status"] == "not_attested"            # never met: b has no attestation
    assert items["1.1"]["status"] == "attestation_expired"     # its organisational half expired
    assert items["1"]["status"] == "attestation_expired"
    assert set(tom.ROLLUP) >= {"attested", "attestation_expired", "not_attested"}


def test_coverage_lists_measures_without_control_or_attestation(catalog):
    assert tom.coverage(catalog, ["SSH-001"], attested={"1.2"})["unattested_items"] == []
    assert tom.coverage(catalog, ["SSH-001"], attested=set())["unattested_items"] == ["1.2"]
    assert "unattested_items" not in tom.coverage(catalog, ["SSH-001"])


def test_example_file_is_valid():
    cat = tom.load_catalog(None)
    a = att.load_attestations(ROOT / "inventories" / "attestations.example.yml", cat)
    block, _ = att.evaluate(a, date(2026, 12, 7))
    assert {e["state"] for e in block["entries"]} >= {"valid", "expired"}
