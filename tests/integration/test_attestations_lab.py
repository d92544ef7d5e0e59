"""Attestations on a real SSH scan of the lab (the issue's lab tests): a valid attestation makes an
organisational measure attested on every host, an expired one is not verified, a document changed
after it was attested is an error, and a measure with controls and an attestation still fails
where its control fails (an attestation never turns a failure into met)."""

import hashlib
import json

import pytest

from hardencheck.cli import main
from hardencheck.results import validate_document
from tests.integration.test_attestations import attestation_file, items

pytestmark = pytest.mark.lab


def lab_scan(lab, tmp_path, att, *extra):
    out = tmp_path / "reports"
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", str(lab.ssh_config_path), "--limit", "hardened,weak", "--control", "SSH-001",
                 "--out", str(out), "--no-history", "--quiet", "--attestations", str(att), *extra])
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    doc = json.loads((run / "results.json").read_text(encoding="utf-8"))
    validate_document(doc)
    return code, run, doc


def test_attested_expired_and_failures_still_win_on_lab_hosts(lab, tmp_path, capsys):
    att = attestation_file(tmp_path / "site")
    # SSH-001's measure gets an attestation too: weak fails SSH-001, so its measure stays not met
    code, run, doc = lab_scan(lab, tmp_path / "a", att)
    it = items(doc)
    assert code == 1                                           # weak fails SSH-001; attestations never change it
    assert it["1.1"]["status"] == "attested" and it["1.1"]["hosts"] == {"hardened": "attested", "weak": "attested"}
    assert it["4.3"]["status"] == "attestation_expired"
    ssh_items = [i for i in it.values() if "SSH-001" in (i.get("controls") or [])]
    assert ssh_items and all(i["hosts"]["weak"] == "not_met" for i in ssh_items)

    # the same measure attested with both halves: a failing control still wins
    measure = ssh_items[0]["id"]
    both = tmp_path / "both.yml"
    both.write_text(att.read_text(encoding="utf-8") + f"""\
  - measure: "{measure}"
    statement: Keys are issued per person and reviewed quarterly.
    owner: IT Operations
    attested_by: Jana Beispiel (CISO)
    date: 2026-01-01
    valid_until: 2099-12-31
""", encoding="utf-8")
    (tmp_path / "docs").mkdir(exist_ok=True)
    (tmp_path / "docs" / "zutritt.txt").write_bytes((tmp_path / "site" / "docs" / "zutritt.txt").read_bytes())
    _, _, doc = lab_scan(lab, tmp_path / "b", both)
    m = items(doc)[measure]
    assert m["hosts"]["weak"] == "not_met" and m["status"] == "not_met"

    # the attested document changed after it was attested: an error, not attested
    v1 = hashlib.sha256(b"Zutrittskonzept v1\n").hexdigest()
    changed = attestation_file(tmp_path / "changed", pinned=v1, doc=b"Zutrittskonzept v2\n")
    _, run, doc = lab_scan(lab, tmp_path / "c", changed)
    assert doc["attestations"]["entries"][0]["evidence"][0]["status"] == "mismatch"
    assert items(doc)["1.1"]["status"] == "not_verified"
    assert "CHANGED (SHA-256 differs)" in (run / "report.html").read_text(encoding="utf-8")
