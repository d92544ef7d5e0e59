"""The generic resources against real lab hosts (issue 14.1): a site's control folder
(tests/integration/resource_controls/, one control per resource, with its cases) merged into the
library with --controls, scanned over SSH on ``rsgood`` (every check holds) and ``rsbad`` (every
check broken; tests/lab/kind_resources.py), each resource's items in ONE section, hostile file
content and command output redacted and inert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardencheck.cli import main
from tests.conftest import lab_unavailable_or_skip, lab_prefix
from tests.lab import Lab
from tests.lab.kind_resources import MISSING_PACKAGE, PLANTED

pytestmark = pytest.mark.lab
FOLDER = Path(__file__).parent / "resource_controls"
PASS_ON_GOOD = [f"HCRES-{i:03d}" for i in range(1, 14) if i != 5]
SAME_ON_BOTH = {"HCRES-013"}          # the symlink: the same state on both hosts


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    lab_unavailable_or_skip()
    tmp = tmp_path_factory.mktemp("resources")
    prefix = lab_prefix("r")
    with Lab(tmp / "lab", prefix=prefix) as lab:
        lab.start(["rsgood", "rsbad"])
        out = tmp / "runs"
        code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                     "--ssh-config", "/dev/null", "--out", str(out), "--quiet", "--format", "json",
                     "--controls", str(FOLDER), "--tags", "hcres", "--no-history"])
        (res,) = out.glob("*/results.json")
        text = res.read_text()
        host_files = [p.read_text() for p in res.parent.glob("hosts/*.json")]
    doc = json.loads(text)
    by = {(r["host"], r["control"]): r for r in doc["results"]}
    return code, doc, by, text, host_files


def test_every_resource_passes_on_the_good_host(scanned):
    _, _, by, _, _ = scanned
    bad = {c: by[("rsgood", c)]["message"] for c in PASS_ON_GOOD if by[("rsgood", c)]["status"] != "pass"}
    assert bad == {}


def test_every_resource_fails_on_the_bad_host(scanned):
    code, _, by, _, _ = scanned
    assert code == 1
    wrong = {c: (by[("rsbad", c)]["status"], by[("rsbad", c)]["message"]) for c in PASS_ON_GOOD
             if c not in SAME_ON_BOTH and by[("rsbad", c)]["status"] != "fail"}
    assert wrong == {}


def test_the_facts_behind_the_verdicts(scanned):
    _, _, by, _, _ = scanned
    a = lambda host, c: by[(host, c)]["actual"]
    assert a("rsgood", "HCRES-001")["owner"] == "hcapp" and a("rsbad", "HCRES-001")["mode"] == "0644"
    assert a("rsbad", "HCRES-003")["mode"] == "0777"
    assert a("rsgood", "HCRES-004")["version"]
    assert by[("rsbad", "HCRES-004")]["params"]["package"] == MISSING_PACKAGE
    assert a("rsgood", "HCRES-006")["addresses"] == ["127.0.0.1"]
    assert a("rsbad", "HCRES-006")["addresses"] == ["0.0.0.0"] and a("rsbad", "HCRES-006")["processes"]
    assert a("rsbad", "HCRES-007")["shell"] == "/bin/bash" and a("rsbad", "HCRES-007")["locked"] is False
    assert a("rsbad", "HCRES-008")["members"] == ["hcapp", "root"]
    assert a("rsgood", "HCRES-009")["persisted_from"] == "/etc/sysctl.d/60-hcres.conf:1"
    assert a("rsbad", "HCRES-009") == {"value_int": 1, "persisted": None, "persisted_from": None}
    assert a("rsgood", "HCRES-010")["fstype"] == "tmpfs" and a("rsbad", "HCRES-010")["mounted"] is False
    assert a("rsgood", "HCRES-013")["link_target"] == "agent.conf"


def test_no_systemd_is_an_error_never_a_state(scanned):
    _, _, by, _, _ = scanned
    for host in ("rsgood", "rsbad"):
        r = by[(host, "HCRES-005")]
        assert (r["status"], r["reason"]) == ("error", "command_missing")
        assert "systemd" in r["message"]


def test_one_section_per_resource(scanned):
    """Three resource.file controls on a host travel in one section of its one exec."""
    _, doc, by, _, _ = scanned
    for host in ("rsgood", "rsbad"):
        refs = {tuple(by[(host, c)]["evidence"]["sections"]) for c in ("HCRES-001", "HCRES-002", "HCRES-013")}
        assert refs == {(f"{host}/resource.file/items",)}
        ev = doc["evidence"][f"{host}/resource.file/items"]
        assert ev["stdout"].count("\n@ ") + ev["stdout"].startswith("@ ") == 3
        assert not [k for k in doc["evidence"] if k.startswith(f"{host}/resource.file-")]


def test_hostile_content_is_redacted_and_inert(scanned):
    """agent.conf holds an api_key line and a line forging a probe frame: matched by HCRES-002 and
    printed by HCRES-012; the secret never reaches results.json or the host files, the forged
    frame is data."""
    _, _, by, text, host_files = scanned
    secret = PLANTED.split("=", 1)[1]
    assert secret not in text and not any(secret in h for h in host_files)
    lines = by[("rsgood", "HCRES-012")]["actual"]["stdout_lines"]
    assert any("REDACTED" in x for x in lines)
    assert any(x.startswith("HC0123456789abcdef") for x in lines)          # the forged marker: data
    matches = by[("rsgood", "HCRES-002")]["actual"]
    assert matches["content_match_count"] == 3                            # target, api_key, forged
    assert by[("rsgood", "HCRES-012")]["status"] == "pass"


def test_the_folder_cases_run_by_controls_test(capsys):
    assert main(["controls", "test", str(FOLDER)]) == 0
    assert "26 of 26 case(s) OK for 13 control(s)" in capsys.readouterr().out
