"""Catalog format 2 on a real SSH scan of the lab's hardened host (issue 17): the same control
judged with two parameter sets for two measures from one collection (BACKUP-001 max_age 1 h fails,
26 h passes on the hardened host's 2-hour-old marker), a partial measure partly_verified without an
attestation and met with one, a technical measure without controls not_checked, a `require:
all_hosts` measure not verified where its control does not apply (CRYPT-002: no certificate paths
configured on the lab hosts), --only-catalog, and the measure ids in the terminal and JUnit."""

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from hardencheck.cli import main
from hardencheck.results import validate_document
from tests.conftest import lab_unavailable_or_skip, lab_prefix

pytestmark = pytest.mark.lab

CATALOG = """\
format: 2
catalog:
  id: lab-v2
  title: {en: Lab TOM in format 2}
  version: "1"
  date: 2026-01-01
items:
  - id: B
    title: {en: Backups}
    text: {en: Backups run and are kept.}
    category: wiederherstellbarkeit
    art32: [c]
    items:
      - id: B.1
        title: {en: Hourly backup}
        controls: [{id: BACKUP-001, params: {max_age: 1h}}]
      - id: B.2
        title: {en: Daily backup}
        controls: [{id: BACKUP-001, params: {max_age: 26h}}]
      - id: B.3
        title: {en: Daily backup stored off-site}
        proof: partial
        controls: [{id: BACKUP-001, params: {max_age: 26h}}]
  - id: "§ 2"
    title: {de: Zugang}
    category: zugangskontrolle
    art32: [b, "25(1)"]
    items:
      - id: "§ 2.1"
        title: {de: Zwei-Faktor-Anmeldung für Administratoren}
        kind: technical
      - id: "§ 2.2"
        title: {de: Anmeldung nur mit Schlüssel}
        controls: [SSH-001]
      - id: "§ 2.3"
        title: {de: Gültige TLS-Zertifikate auf jedem Server}
        require: all_hosts
        controls: [CRYPT-002]
      - id: "§ 2.4"
        title: {de: "Gültige TLS-Zertifikate, wo es welche gibt"}
        controls: [CRYPT-002]
"""


@pytest.fixture(scope="module")
def v2_lab(tmp_path_factory):
    lab_unavailable_or_skip()
    from tests.lab import Lab

    prefix = lab_prefix("tv")
    with Lab(tmp_path_factory.mktemp("tomv2lab"), prefix=prefix) as lab:
        lab.start(["hardened"])
        yield lab


def scan(lab, tmp_path, *extra):
    cat = tmp_path / "tom.yml"
    cat.write_text(CATALOG, encoding="utf-8")
    out = tmp_path / "out"
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", "/dev/null", "--out", str(out), "--no-history", "--tom", str(cat),
                 "--only-catalog", "--format", "junit,json", *extra])
    (p,) = out.glob("*/results.json")
    doc = json.loads(p.read_text())
    validate_document(doc)
    return code, doc, p.parent


def test_measures_judged_by_their_own_parameters_on_the_lab(v2_lab, tmp_path, capsys):
    code, doc, run_dir = scan(v2_lab, tmp_path)
    terminal = capsys.readouterr().out
    results = {r["control"]: r for r in doc["results"] if r["host"] == "hardened"}
    # --only-catalog: only the catalog's controls ran
    ran = {c for c, r in results.items() if r["status"] != "skipped"}
    assert ran == {"BACKUP-001", "SSH-001", "CRYPT-002"}
    assert doc["run"]["options"]["only_catalog"] is True
    # the host's own BACKUP-001 (26 h default) passes and proves no measure by itself
    assert results["BACKUP-001"]["status"] == "pass" and results["BACKUP-001"]["tom"] == []
    assert results["SSH-001"]["tom"] == ["§ 2.2"]
    # one collection, two parameter sets: hourly fails, daily passes on the 2-hour-old marker
    sets = {r["key"]: r for r in doc["tom"]["results"] if r["host"] == "hardened"}
    hourly, daily = sets['{"max_age": "1h"}'], sets['{"max_age": "26h"}']
    assert (hourly["status"], hourly["measures"], hourly["params"]["max_age"]) == ("fail", ["B.1"], "1h")
    assert (daily["status"], daily["measures"], daily["params"]["max_age"]) == ("pass", ["B.2", "B.3"], "26h")
    assert hourly["actual"]["modified_at"] == daily["actual"]["modified_at"] == \
        results["BACKUP-001"]["actual"]["modified_at"]
    assert hourly["evidence"]["sections"] == results["BACKUP-001"]["evidence"]["sections"]
    items = {i["id"]: i for i in doc["tom"]["items"]}
    status = {k: items[k]["hosts"]["hardened"] for k in ("B.1", "B.2", "B.3", "§ 2.1", "§ 2.3", "§ 2.4")}
    assert status == {"B.1": "not_met", "B.2": "met", "B.3": "partly_verified", "§ 2.1": "not_checked",
                      "§ 2.3": "not_verified", "§ 2.4": "not_applicable"}
    assert items["B"]["text"] == {"en": "Backups run and are kept."}
    assert items["§ 2.2"]["articles"] == ["b", "25(1)"] and items["§ 2.2"]["art32"] == "b"
    # the hourly failure fails the run, and the terminal and JUnit name the measure
    assert code == 1
    flat = " ".join(terminal.split())
    assert "B.1 (max_age=1h)" in flat
    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    hourly_case = next(c for n, c in cases.items() if n.startswith("BACKUP-001") and "[TOM B.1; max_age=1h]" in n)
    assert hourly_case.find("failure") is not None
    assert any(n.startswith("SSH-001") and n.endswith("[TOM § 2.2]") for n in cases)
    assert int(suite.get("failures")) == sum(1 for c in cases.values() if c.find("failure") is not None)


def test_an_attestation_completes_a_partial_proof(v2_lab, tmp_path, capsys):
    today = datetime.now(timezone.utc).date()
    att = tmp_path / "attestations.yml"
    att.write_text(f"""\
attestations:
  - measure: B.3
    statement: The backup repository is an off-site SFTP store of our provider.
    owner: Operations
    attested_by: Jana Beispiel
    date: {today - timedelta(days=1)}
    valid_until: {today + timedelta(days=30)}
""", encoding="utf-8")
    code, doc, _ = scan(v2_lab, tmp_path, "--attestations", str(att))
    items = {i["id"]: i for i in doc["tom"]["items"]}
    assert items["B.3"]["hosts"]["hardened"] == "met" and items["B.3"]["status"] == "met"
    assert items["B.2"]["status"] == "met" and items["B.1"]["status"] == "not_met"
    assert items["§ 2.1"]["status"] == "not_checked"     # no attestation names it: still a gap
