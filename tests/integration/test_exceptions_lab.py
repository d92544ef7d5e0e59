"""The response register on the lab: a failing control waived for one host (underlying fail kept,
exit code honours it, every format shows it, a hostile justification inert everywhere), the same
waiver expired (fail again, listed as expired), one expiring soon (warned), a waiver on an error
(stays error), and a parameter override that loosens a control shown as a deviation."""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from hardencheck.cli import main
from hardencheck.records.files import sha256_bytes
from hardencheck.results import SCHEMA_VERSION, validate_document

pytestmark = pytest.mark.lab

HOSTILE = ("<script>alert(1)</script> =cmd|' /C calc'!A0 \x1b[31mRED\x1b[0m \u202eevil | [x](http://e.vil) "
           "@here ::error::x `code` &amp;")
TODAY = datetime.now(timezone.utc).date()


def register(tmp_path: Path, expires, name="register.yml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump({"exceptions": [
        {"id": "EXC-LAB-1", "action": "risk_accepted", "controls": ["SSH-002"], "hosts": ["hardened"],
         "justification": HOSTILE, "approved_by": "Jana Beispiel (CISO) <b>", "granted": str(TODAY - timedelta(30)),
         "ticket": "SEC-1", "expires": str(expires)},
        {"id": "EXC-LAB-2", "action": "false_positive", "controls": ["SSH-001", "SSH-002"], "hosts": ["unreachable"],
         "justification": "nothing to see", "approved_by": "Max"},
        {"id": "REM-LAB-3", "action": "remediation_planned", "controls": ["SSH-002"], "hosts": ["weak"],
         "justification": "rebuild", "owner": "Ops", "due": str(TODAY - timedelta(1))},
    ]}, allow_unicode=True))
    return p


def scan(lab, out: Path, *extra: str, inventory=None) -> tuple[int, dict, Path]:
    code = main(["scan", "-i", str(inventory or lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", "/dev/null", "--out", str(out), "--no-history", "--tags", "ssh",
                 "--format", "html,junit,json,md,csv", *extra])
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    doc = json.loads((run_dir / "results.json").read_text())
    validate_document(doc)
    return code, doc, run_dir


def result(doc, host, control):
    return next(r for r in doc["results"] if r["host"] == host and r["control"] == control)


def test_a_waived_failure_in_every_format(lab, tmp_path, capsys):
    reg = register(tmp_path, TODAY + timedelta(days=90))
    code, doc, run_dir = scan(lab, tmp_path / "out", "--limit", "hardened,weak,unreachable", "--exceptions", str(reg))
    terminal = capsys.readouterr().out
    waived = result(doc, "hardened", "SSH-002")
    assert waived["status"] == "waived"
    assert waived["actual"] == {"permitrootlogin": "prohibit-password", "authenticationmethods": "any"} or \
        waived["actual"]["permitrootlogin"] == "prohibit-password"
    assert "permitrootlogin" in waived["message"] and waived["evidence"]["sections"]        # the fail's, kept
    (resp,) = waived["responses"]
    assert resp["id"] == "EXC-LAB-1" and resp["state"] == "active" and resp["justification"] == HOSTILE
    assert result(doc, "weak", "SSH-002")["status"] == "fail"
    assert result(doc, "weak", "SSH-002")["responses"][0]["state"] == "overdue"           # remediation planned
    err = result(doc, "unreachable", "SSH-001")
    assert err["status"] == "error" and err["responses"][0]["id"] == "EXC-LAB-2"          # an error stays one
    assert doc["summary"]["status_counts"]["waived"] == 1
    assert doc["schema_version"] == SCHEMA_VERSION
    # the register's hash in results.json, run.json and the manifest
    sha = sha256_bytes(reg.read_bytes())
    assert doc["exceptions"]["files"] == [{"path": str(reg), "sha256": sha}]
    assert [e["id"] for e in doc["exceptions"]["entries"]] == ["EXC-LAB-1", "EXC-LAB-2", "REM-LAB-3"]
    assert json.loads((run_dir / "run.json").read_text())["exceptions"]["files"][0]["sha256"] == sha
    assert json.loads((run_dir / "manifest.json").read_text())["run"]["exceptions"]["files"][0]["sha256"] == sha
    assert main(["verify", str(run_dir)]) == 0
    # the report is rendered again from results.json alone, without the register file
    saved = reg.read_bytes()
    reg.unlink()
    assert main(["report", str(run_dir), "--format", "html,md", "--out", str(tmp_path / "again")]) == 0
    again = (tmp_path / "again" / "report.html").read_text()
    assert 'class="badge s-waived"' in again and "EXC-LAB-1" in again
    reg.write_bytes(saved)
    # TOM: 1.2.1 (SSH-001, SSH-002) on hardened has only a waived failure
    items = {i["id"]: i for i in doc["tom"]["items"]}
    assert items["1.2.1"]["hosts"]["hardened"] == "met_with_exceptions"

    # every format shows it; the hostile justification is inert in each
    html = (run_dir / "report.html").read_text()
    assert 'class="badge s-waived"' in html and "EXC-LAB-1" in html and 'id="exceptions"' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\u202e" not in html and "OVERDUE" in html
    import xmlschema

    from tests.report.test_report_ci import junit_xsd   # fetched once, whatever ran before

    xmlschema.XMLSchema(str(junit_xsd())).validate(str(run_dir / "junit.xml"))
    junit = ET.parse(run_dir / "junit.xml").getroot()
    case = next(c for s in junit if s.get("name") == "hardened" for c in s.iter("testcase")
                if c.get("name").startswith("SSH-002"))
    (skipped,) = case.findall("skipped")
    assert "waived by EXC-LAB-1 (risk_accepted, active" in skipped.get("message")
    assert "<script>alert(1)</script>" in skipped.get("message")      # as XML text, escaped in the file
    assert "\\x1b[31m" in skipped.get("message") and "\\u202e" in skipped.get("message")
    assert "<script>" not in (run_dir / "junit.xml").read_text()
    rows = list(csv.DictReader(io.StringIO((run_dir / "results.csv").read_text("utf-8-sig"), newline="")))
    row = next(r for r in rows if r["host"] == "hardened" and r["control"] == "SSH-002")
    assert (row["status"], row["response_id"], row["response_action"], row["response_expires"]) == \
        ("waived", "EXC-LAB-1", "risk_accepted", str(TODAY + timedelta(days=90)))
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r.values() if c)
    md = (run_dir / "summary.md").read_text()
    line = next(x for x in md.splitlines() if "EXC" in x and "LAB" in x and "hardened" in x)
    assert "risk accepted" in line and str(TODAY + timedelta(days=90)) in line
    assert "<script>" not in md and "\x1b" not in md and not any(x.startswith("::") for x in md.splitlines())
    assert "\\[x\\](http://e.vil)" in md and "\\@here" in md
    assert "waived" in terminal and "EXC-LAB-1" in terminal and "\x1b[31m" not in terminal
    assert "warning: remediation OVERDUE (1): REM-LAB-3" in " ".join(terminal.split())

    # the exit code honours the waiver: only SSH-002 on hardened
    code, doc, one = scan(lab, tmp_path / "one", "--limit", "hardened", "--control", "SSH-002", "--exceptions", str(reg))
    assert code == 0 and doc["run"]["exit_code"] == 0
    # the report's figures: a measure met only with exceptions is judged, never counted as met
    assert 'class="overall o-met_with_exceptions"' in (one / "report.html").read_text()
    assert "1 met with exceptions" in (one / "summary.md").read_text()
    code, doc, _ = scan(lab, tmp_path / "none", "--limit", "hardened", "--control", "SSH-002")
    assert code == 1 and result(doc, "hardened", "SSH-002")["status"] == "fail" and "exceptions" not in doc
    assert "responses" not in result(doc, "hardened", "SSH-002")


def test_an_expired_waiver_is_a_failure_again_and_listed(lab, tmp_path, capsys):
    reg = register(tmp_path, TODAY - timedelta(days=1))
    code, doc, run_dir = scan(lab, tmp_path / "out", "--limit", "hardened", "--control", "SSH-002",
                              "--exceptions", str(reg))
    terminal = " ".join(capsys.readouterr().out.split())
    r = result(doc, "hardened", "SSH-002")
    assert code == 1 and r["status"] == "fail" and r["responses"][0]["state"] == "expired"
    assert doc["exceptions"]["entries"][0]["state"] == "expired"
    assert "EXPIRED" in terminal and "EXC-LAB-1" in terminal
    assert "1 exception(s) EXPIRED" in (run_dir / "report.html").read_text()
    assert "EXPIRED (counted as failures again)" in (run_dir / "summary.md").read_text()
    assert next(x for x in doc["tom"]["items"] if x["id"] == "1.2.1")["hosts"]["hardened"] == "not_met"


def test_a_waiver_expiring_soon_still_waives_and_is_warned_about(lab, tmp_path, capsys):
    reg = register(tmp_path, TODAY)                          # the expiry date itself is still covered
    code, doc, run_dir = scan(lab, tmp_path / "out", "--limit", "hardened", "--control", "SSH-002",
                              "--exceptions", str(reg))
    terminal = " ".join(capsys.readouterr().out.split())
    assert code == 0 and result(doc, "hardened", "SSH-002")["status"] == "waived"
    assert result(doc, "hardened", "SSH-002")["responses"][0]["state"] == "expiring"
    assert "exceptions expiring within 14 days (1): EXC-LAB-1" in " ".join(terminal.split())
    assert "1 exception(s) expire within 14 days" in (run_dir / "report.html").read_text()


def test_a_register_error_stops_the_scan_before_it_connects(lab, tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("exceptions:\n  - id: X-1\n    action: risk_accepted\n    controls: [SSH-002]\n"
                   "    hosts: [no-such-host]\n    justification: j\n    approved_by: a\n    expires: 2030-01-01\n")
    assert main(["scan", "-i", str(lab.inventory_path), "--out", str(tmp_path / "out"), "--exceptions", str(bad)]) == 3
    err = capsys.readouterr().err
    assert "bad.yml:5 [exceptions[0].hosts[0]]: 'no-such-host' matches no host" in err
    assert not (tmp_path / "out").exists()


def test_a_loosening_override_is_a_deviation(lab, tmp_path):
    inv = yaml.safe_load(lab.inventory_path.read_text())
    inv["hosts"]["hardened"].setdefault("params", {})["SSH-002"] = {"root_login_allowed": ["no", "prohibit-password"]}
    path = lab.inventory_path.parent / "inventory-deviation.yml"
    path.write_text(yaml.safe_dump(inv))
    code, doc, run_dir = scan(lab, tmp_path / "out", "--limit", "hardened", "--control", "SSH-002", inventory=path)
    assert code == 0 and result(doc, "hardened", "SSH-002")["status"] == "pass"     # passes only by the override
    dev = next(d for d in doc["deviations"] if d["control"] == "SSH-002")
    assert dev == {"host": "hardened", "control": "SSH-002", "param": "root_login_allowed", "default": ["no"],
                   "value": ["no", "prohibit-password"], "why": "permitrootlogin one_of: also allows prohibit-password"}
    html = (run_dir / "report.html").read_text()
    section = html[html.index('id="deviations"'):]
    assert re.search(r"SSH-002.*root_login_allowed.*also allows prohibit-password", section, re.S)
    assert json.loads((run_dir / "run.json").read_text())["deviations"] == doc["deviations"]
