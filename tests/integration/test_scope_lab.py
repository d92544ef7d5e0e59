"""Were all servers tested? Scans of real lab hosts reconciled with an asset register: the register
names a lab host the inventory lacks (weak) and omits one it has (hardened); the history holds a host
that failed to connect on every earlier run (unreachable). results.json, report.html, summary.md and
the terminal say so; --fail-on-missing-hosts turns an otherwise clean run into exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.results import SCHEMA_VERSION, validate_document

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def slab(tmp_path_factory):
    from tests.conftest import lab_unavailable_or_skip, lab_prefix
    from tests.lab import Lab

    lab_unavailable_or_skip()
    with Lab(tmp_path_factory.mktemp("scopelab"), prefix=lab_prefix("sc")) as running:
        running.start(["hardened", "weak", "unreachable"])
        yield running


def _inventory_without_weak(lab) -> Path:
    """The lab inventory without weak, beside the lab's key and known_hosts (relative paths)."""
    lines = [ln for ln in lab.inventory_path.read_text().splitlines() if not ln.startswith("  weak:")]
    inv = lab.inventory_path.parent / "scope-inventory.yml"
    inv.write_text("\n".join(lines) + "\n")
    return inv


def _scan(lab, inv: Path, out: Path, db: Path, register: Path, *extra: str) -> tuple[int, dict, Path]:
    before = set(out.iterdir()) if out.exists() else set()
    code = main(["scan", "-i", str(inv), "--known-hosts", str(lab.known_hosts_path), "--ssh-config", "/dev/null",
                 "--out", str(out), "--history", str(db), "--control", "SSH-002", "--format", "html,json,md",
                 "--expect-hosts", str(register), *extra])
    (run_dir,) = [p for p in set(out.iterdir()) - before if p.is_dir()]
    doc = json.loads((run_dir / "results.json").read_text())
    validate_document(doc)
    return code, doc, run_dir


def test_register_inventory_and_history_reconciled(slab, tmp_path, capsys):
    inv = _inventory_without_weak(slab)
    register = tmp_path / "assets.csv"
    # an export as a CMDB writes it: semicolons, other columns, names in capitals
    register.write_text("Asset-ID;Hostname;Environment;Owner\nA-1;WEAK;prod;ops\nA-2;unreachable;test;ops\n")
    out, db = tmp_path / "out", tmp_path / "history.db"
    # two earlier runs: unreachable fails to connect on both, hardened is scanned
    docs = []
    for _ in range(2):
        code, doc, _ = _scan(slab, inv, out, db, register, "--fail-on", "none")
        assert code == 2 and {h["name"]: h["status"] for h in doc["hosts"]} == {"hardened": "ok",
                                                                                 "unreachable": "error"}
        docs.append(doc)
    capsys.readouterr()

    # a run of hardened only: unreachable is not scanned now, its history says why it is stale
    code, doc, run_dir = _scan(slab, inv, out, db, register, "--limit", "hardened", "--fail-on", "none")
    terminal = " ".join(capsys.readouterr().out.split())
    assert code == 0 and doc["schema_version"] == SCHEMA_VERSION
    sc = doc["scope"]
    assert sc["register"]["name_column"] == "Hostname" and sc["register"]["environment_column"] == "Environment"
    assert [(m["name"], m["environment"], m["line"]) for m in sc["missing_from_inventory"]] == [("WEAK", "prod", 2)]
    assert [u["host"] for u in sc["not_in_register"]] == ["hardened"]
    assert [(m["host"], m["by"]) for m in sc["matched"]] == [("unreachable", "name")]
    (stale,) = sc["stale"]["hosts"]
    assert sc["stale"]["history"] is True and sc["stale"]["days"] == 7
    assert stale["host"] == "unreachable" and stale["last_ok"] is None and stale["this_run"] == "not_scanned"
    assert (stale["last_status"], stale["last_reason"]) == ("error", "unreachable")
    second = next(h for h in docs[1]["hosts"] if h["name"] == "unreachable")
    assert stale["last_attempt"] == (second["started_at"] or docs[1]["run"]["started_at"])   # the latest attempt
    assert sc["counts"] == {"register": 2, "inventory": 2, "matched": 1, "missing_from_inventory": 1,
                            "not_in_register": 1, "stale": 1}
    # every report says it
    assert "1 host(s) of the register missing from the inventory, 1 not in the register, 1 without" in terminal
    assert "WEAK" in terminal
    html = (run_dir / "report.html").read_text()
    section = html[html.index('id="scope"'):html.index('id="findings"')]
    assert "Were all servers tested?" in section and "WEAK" in section and "hardened" in section
    assert section.index("unreachable") > section.index('id="scope-stale"')
    md = (run_dir / "summary.md").read_text()
    assert "### Were all servers tested?" in md and "| WEAK | prod | 2 |" in md

    # the same run with --fail-on-missing-hosts: incomplete
    code, doc, run_dir = _scan(slab, inv, out, db, register, "--limit", "hardened", "--fail-on", "none",
                               "--fail-on-missing-hosts")
    assert code == 2 and doc["run"]["exit_code"] == 2 and doc["scope"]["fail_on_missing_hosts"] is True
    assert all(r["status"] != "error" for r in doc["results"])     # 2 comes from the register alone

    # a register naming every inventory host: the flag changes nothing
    full = tmp_path / "full.json"
    full.write_text(json.dumps([{"fqdn": "hardened", "env": "prod"}, "unreachable"]))
    code, doc, _ = _scan(slab, inv, out, db, full, "--limit", "hardened", "--fail-on", "none",
                         "--fail-on-missing-hosts")
    assert code == 0 and not doc["scope"]["missing_from_inventory"] and not doc["scope"]["not_in_register"]

    # the annual report over these runs: the register's completeness in the period
    first, last = docs[0]["run"]["started_at"][:10], doc["run"]["started_at"][:10]
    code = main(["audit", "--from", first, "--to", last, "--history", str(db), "--out", str(tmp_path / "audit"),
                 "--expect-hosts", str(register), "--lang", "de"])
    assert code == 0
    audit = json.loads((tmp_path / "audit" / "audit.json").read_text())
    sc = audit["scope"]
    assert sc["completeness"] == 0.0 and [m["name"] for m in sc["never_planned"]] == ["WEAK"]
    assert [(m["name"], m["runs"], m["checked"]) for m in sc["never_ok"]] == [("unreachable", 2, 0)]
    assert sc["unregistered"] == [{"host": "hardened", "runs": 5, "checked": 5}]
    html = (tmp_path / "audit" / "audit.html").read_text()
    assert "Wurden alle Server geprüft?" in html[html.index('id="scope"'):]
    assert "0 von 2 Servern des Asset-Registers im Zeitraum geprüft" in " ".join(capsys.readouterr().out.split())


def test_a_bad_register_stops_the_scan_before_anything_connects(tmp_path, capsys):
    inv = tmp_path / "inv.yml"
    inv.write_text("hosts:\n  web1: {address: 198.18.250.2}\n")
    reg = tmp_path / "assets.csv"
    reg.write_text("name,env\nweb1,prod\n,prod\n")
    code = main(["scan", "-i", str(inv), "--out", str(tmp_path / "out"), "--no-history", "--expect-hosts", str(reg)])
    err = capsys.readouterr().err
    assert code == 3 and f"{reg}:3 [column 1 'name']: empty name" in err
    assert not (tmp_path / "out").exists()
    code = main(["scan", "-i", str(inv), "--out", str(tmp_path / "out"), "--no-history", "--fail-on-missing-hosts"])
    assert code == 3 and "--fail-on-missing-hosts needs the asset register" in capsys.readouterr().err
