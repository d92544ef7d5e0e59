"""hardencheck exceptions lint|list: the register checked alone, and what expires."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

from hardencheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventories" / "exceptions.example.yml"
INVENTORY = ROOT / "inventories" / "example.yml"


def test_the_example_register_lints_against_the_example_inventory(capsys):
    assert main(["exceptions", "lint", str(EXAMPLE), "-i", str(INVENTORY)]) == 0
    assert "3 entries OK" in capsys.readouterr().out


def test_lint_names_file_line_and_field(tmp_path, capsys):
    bad = tmp_path / "r.yml"
    bad.write_text(EXAMPLE.read_text().replace("controls: [SSH-002]", "controls: [SSH-992]")
                   .replace("hosts: [db1.example.com]", "hosts: [db9.example.com]"))
    assert main(["exceptions", "lint", str(bad), "-i", str(INVENTORY)]) == 3
    err = capsys.readouterr().err
    assert f"{bad}:17 [exceptions[0].controls[0]]: unknown control id 'SSH-992'" in err
    assert f"{bad}:18 [exceptions[0].hosts[0]]: 'db9.example.com' matches no host of the inventory" in err
    # without an inventory only what can be checked is
    assert main(["exceptions", "lint", str(bad)]) == 3
    assert "matches no host" not in capsys.readouterr().err


def test_list_expiring(tmp_path, capsys):
    today = datetime.now(timezone.utc).date()
    reg = tmp_path / "r.yml"
    reg.write_text(f"""exceptions:
  - {{id: SOON, action: risk_accepted, controls: [SSH-002], hosts: ['*'], justification: j, approved_by: a,
      expires: {today + timedelta(days=10)}}}
  - {{id: LATER, action: risk_accepted, controls: [SSH-002], hosts: ['*'], justification: j, approved_by: a,
      expires: {today + timedelta(days=200)}}}
  - {{id: GONE, action: risk_accepted, controls: [SSH-002], hosts: ['*'], justification: j, approved_by: a,
      expires: {today - timedelta(days=3)}}}
""")
    assert main(["exceptions", "list", str(reg), "--expiring", "30d"]) == 0
    out = capsys.readouterr().out
    assert "SOON" in out and "expiring" in out and "GONE" in out and "expired" in out and "LATER" not in out
    assert main(["exceptions", "list", str(reg)]) == 0
    assert "LATER" in capsys.readouterr().out
    assert main(["exceptions", "list", str(reg), "--expiring", "soon"]) == 3
