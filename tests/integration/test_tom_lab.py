"""The same lab scan seen through two TOM catalogs: identical verdicts, different structure."""

import json
from pathlib import Path

import pytest

from hardencheck.cli import main

pytestmark = pytest.mark.lab
TOM = Path(__file__).resolve().parents[2] / "controls" / "tom"


def scan(lab, tmp_path, catalog):
    out = tmp_path / catalog
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", "/dev/null", "--out", str(out), "--quiet", "--limit", "hardened,weak,unreachable",
                 "--tags", "ssh,firewall,patching,scanning",
                 "--tom", str(TOM / catalog)])
    (p,) = out.glob("*/results.json")
    return json.loads(p.read_text())


def test_verdicts_do_not_depend_on_the_catalog(lab, tmp_path):
    default = scan(lab, tmp_path, "default.yml")
    acme = scan(lab, tmp_path, "example-acme.yml")
    verdict = lambda doc: {(r["host"], r["control"]): (r["status"], r["actual"]) for r in doc["results"]}
    assert verdict(default) == verdict(acme)
    assert default["tom"]["catalog"]["id"] == "hardencheck-default"
    assert acme["tom"]["catalog"]["id"] == "acme-tom"
    ssh = lambda doc: next(r for r in doc["results"] if r["host"] == "weak" and r["control"] == "SSH-001")
    assert ssh(default)["tom"] == ["1.2.1"] and ssh(acme)["tom"] == ["A.2"]
    # per host, a measure's status follows from the verdicts of its controls in both catalogs
    for doc in (default, acme):
        by_pair = verdict(doc)
        for item in doc["tom"]["items"]:
            if item["group"] or not item["controls"]:
                continue
            for host, status in item["hosts"].items():
                statuses = [by_pair[(host, c)][0] for c in item["controls"]]
                expected = ("not_met" if "fail" in statuses else "not_verified" if "error" in statuses
                            else "met" if "pass" in statuses else "not_assessed" if "skipped" in statuses
                            else "not_applicable")
                assert status == expected, (doc["tom"]["catalog"]["id"], item["id"], host)


def test_roll_up_on_the_lab(lab, tmp_path):
    doc = scan(lab, tmp_path, "default.yml")
    items = {i["id"]: i for i in doc["tom"]["items"]}
    keys = items["1.2.1"]                       # key-only SSH login, no direct root login
    # hardened allows root with a key (SSH-001 passes) but not "no root login at all" (SSH-002)
    assert keys["controls"][:2] == ["SSH-001", "SSH-002"]      # and ACCT-014 (personal keys), not applicable here
    assert keys["hosts"]["hardened"] == "not_met"
    assert keys["hosts"]["weak"] == "not_met"
    assert keys["hosts"]["unreachable"] == "not_verified"
    assert keys["status"] == "not_met"
    assert items["1.1"]["status"] == "organisational"      # physical access: a person attests it
    assert items["2.2.1"]["status"] == "not_assessed"      # logging controls were not selected


def test_environments_are_recorded_and_on_the_report_cover(lab, tmp_path):
    from hardencheck.report.rendering import render

    doc = scan(lab, tmp_path, "default.yml")
    groups = {h["name"]: h["groups"] for h in doc["hosts"]}
    assert groups["hardened"] == ["lab"] and "hardened" in next(h for h in doc["hosts"]
                                                                if h["name"] == "hardened")["tags"]
    page = render("html", doc, "en").decode()
    assert "Environments (inventory groups, hosts)" in page and "lab (3)" in page
