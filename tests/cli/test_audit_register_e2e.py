"""End to end (issue 12, part 5): two local-transport scans into one run history with a response
register -- the first while the waiver is in force, the second after it expired (the register given
again with an earlier ``expires``) -- and ``hardencheck audit`` over the day: the control is held
with exceptions, then failed; the exception's life shows it active, then expired."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from hardencheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
REGISTER = """\
exceptions:
  - id: EXC-E2E-1
    action: risk_accepted
    controls: [FILE-004]
    hosts: ['*']
    justification: Test appliance <b>keeps</b> its own owner.
    approved_by: Jana Beispiel (CISO)
    granted: 2020-01-01
    expires: {expires}
"""


def _library(tmp_path: Path) -> Path:
    """The shipped library with FILE-004 made to fail on every Linux host (an owner nobody has)."""
    lib = tmp_path / "controls"
    shutil.copytree(ROOT / "controls", lib)
    f = lib / "files" / "FILE-004.yml"
    text = f.read_text()
    new = text.replace("{fact: files./etc/passwd.owner, op: equals, value: root}",
                       "{fact: files./etc/passwd.owner, op: equals, value: no-such-owner-e2e}", 1)
    assert new != text
    f.write_text(new)
    return lib


def test_waived_then_expired_in_the_history_and_the_annual_report(tmp_path):
    lib, db, reg = _library(tmp_path), tmp_path / "history.db", tmp_path / "register.yml"
    out = tmp_path / "runs"
    base = ["scan", "--out", str(out), "--history", str(db), "--library", str(lib), "--control", "FILE-004",
            "--quiet", "--format", "json", "--exceptions", str(reg)]
    reg.write_text(REGISTER.format(expires="2099-12-31"))
    assert main(base) == 0                      # waived: --fail-on ignores it
    reg.write_text(REGISTER.format(expires="2020-01-02"))
    assert main(base) == 1                      # expired: the failure counts again
    runs = sorted((json.loads((p / "results.json").read_text()) for p in out.iterdir() if p.is_dir()),
                  key=lambda d: d["run"]["started_at"])
    assert [[r["status"] for r in d["results"] if r["control"] == "FILE-004"] for d in runs] == [["waived"], ["fail"]]
    day, day_to = runs[0]["run"]["started_at"][:10], runs[1]["run"]["started_at"][:10]   # may straddle midnight
    rep = tmp_path / "audit"
    assert main(["audit", "--history", str(db), "--from", day, "--to", day_to, "--out", str(rep)]) == 0
    doc = json.loads((rep / "audit.json").read_text())
    (ctl,) = [c for c in doc["controls"] if c["id"] == "FILE-004"]
    assert ctl["outcomes"] == "WF"
    f = ctl["figures"]
    assert (f["held"], f["held_with_exceptions"], f["failed"], f["not_verified"], f["judged"]) == (0, 1, 1, 0, 2)
    assert len(f["open"]) == 1 and f["open"][0]["since_run"] == runs[1]["run"]["id"]
    assert doc["overall"]["controls_held_with_exceptions"] == 1
    (exc,) = doc["exceptions"]
    assert exc["id"] == "EXC-E2E-1" and exc["states"] == ["active", "expired"]
    assert (exc["first_run"], exc["last_run"]) == (runs[0]["run"]["id"], runs[1]["run"]["id"])
    assert exc["expired_at"] == runs[1]["run"]["started_at"] and exc["expires"] == "2020-01-02"
    assert (exc["runs_waived"], exc["results_waived"], exc["renewed_by"]) == (1, 1, [])
    assert exc["covered"] == [[runs[0]["hosts"][0]["name"], "FILE-004"]]
    page = (rep / "audit.html").read_text()
    text = re.sub(r"<[^>]+>", "", page)
    assert "held with exceptions" in text and "EXC-E2E-1" in text and "EXPIRED" in text
    assert "<b>keeps</b>" not in page
