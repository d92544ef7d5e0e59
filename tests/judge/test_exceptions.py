"""The response register: loading, validation (file, line, field), matching, states, application."""

from datetime import date
from types import SimpleNamespace

import pytest

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge import exceptions as ex
from hardencheck.judge.controls import load_controls
from hardencheck.judge.deviations import deviations, loosening
from hardencheck.judge.tom import measure_status
from hardencheck.results import Result, exit_code

GOOD = """\
exceptions:
  - id: EXC-2026-014
    action: risk_accepted
    controls: [SSH-002]
    hosts: [legacy-db-*]
    justification: Vendor appliance; root login needed until the migration in Q2.
    approved_by: Jana Beispiel (CISO)
    granted: 2026-11-02
    ticket: SEC-1234
    expires: 2027-03-31
  - id: FP-7
    action: false_positive
    controls: [FW-001]
    groups: [prod]
    justification: The firewall is upstream.
    approved_by: Max Muster
  - id: REM-1
    action: remediation_planned
    controls: [SSH-001]
    hosts: ["*"]
    justification: Rolled out with the next image.
    owner: Platform team
    due: 2026-12-31
"""
HOSTS = [SimpleNamespace(name="legacy-db-1", groups=["prod"]), SimpleNamespace(name="web1", groups=["dmz"])]


def write(tmp_path, text, name="register.yml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def errors_of(tmp_path, text, hosts=HOSTS):
    p = write(tmp_path, text)
    try:
        reg = ex.load_register([p])
    except ConfigErrors as e:
        return [str(x) for x in e.errors]
    except ConfigError as e:
        return [str(e)]
    return [str(x) for x in ex.check_register(reg, ["SSH-001", "SSH-002", "FW-001"], hosts)]


def test_a_good_register_loads_with_hashes(tmp_path):
    p = write(tmp_path, GOOD)
    reg = ex.load_register([p])
    assert [e.entry.id for e in reg.entries] == ["EXC-2026-014", "FP-7", "REM-1"]
    assert reg.files[0]["path"] == str(p) and len(reg.files[0]["sha256"]) == 64
    assert ex.check_register(reg, ["SSH-001", "SSH-002", "FW-001"], HOSTS) == []
    assert reg.entries[0].entry.expires == date(2027, 3, 31)


def test_a_folder_of_files_is_one_register_and_ids_are_unique_across_files(tmp_path):
    d = tmp_path / "reg"
    d.mkdir()
    write(d, GOOD, "a.yml")
    write(d, GOOD.split("  - id: FP-7")[0], "b.yaml")
    with pytest.raises(ConfigErrors) as e:
        ex.load_register([d])
    (err,) = e.value.errors
    assert "duplicate id 'EXC-2026-014'" in err.message and err.file.endswith("b.yaml") and err.line == 2
    assert err.field == "exceptions[0].id"


@pytest.mark.parametrize("change, message, field, line", [
    (("    approved_by: Jana Beispiel (CISO)\n", ""), "approved_by is required for risk_accepted", "exceptions[0]", 2),
    (("    justification: Vendor appliance; root login needed until the migration in Q2.\n", ""),
     "Field required", "exceptions[0].justification", 2),
    (("    expires: 2027-03-31\n", ""), "expires (a UTC date) is required for risk_accepted", "exceptions[0]", 2),
    (("    owner: Platform team\n", ""), "owner required for remediation_planned", "exceptions[2]", None),
    (("    due: 2026-12-31\n", ""), "due required for remediation_planned", "exceptions[2]", None),
    (("action: risk_accepted", "action: ignore"), "Input should be", "exceptions[0].action", 3),
    (("    ticket: SEC-1234\n", "    tiket: SEC-1234\n"), "unknown field", "exceptions[0].tiket", 9),
    (("expires: 2027-03-31", "expires: next year"), "date", "exceptions[0].expires", 10),
    (("    hosts: [legacy-db-*]\n", ""), "name the hosts and/or groups", "exceptions[0]", 2),
])
def test_missing_and_wrong_fields_name_file_line_and_field(tmp_path, change, message, field, line):
    errs = errors_of(tmp_path, GOOD.replace(*change))
    assert len(errs) == 1, errs
    assert message in errs[0] and f"[{field}]" in errs[0]
    if line:
        assert f"register.yml:{line} " in errs[0]


def test_unknown_controls_and_hosts_or_groups_that_match_nothing(tmp_path):
    text = GOOD.replace("controls: [SSH-002]", "controls: [SSH-002, SSH-999]").replace(
        "hosts: [legacy-db-*]", "hosts: [legacy-dv-*]").replace("groups: [prod]", "groups: [production]")
    errs = errors_of(tmp_path, text)
    assert any("register.yml:4 [exceptions[0].controls[1]]: unknown control id 'SSH-999'" in e for e in errs)
    assert any("register.yml:5 [exceptions[0].hosts[0]]: 'legacy-dv-*' matches no host" in e for e in errs)
    assert any("[exceptions[1].groups[0]]: 'production' matches no group" in e for e in errs)
    assert len(errs) == 3


def test_not_a_register(tmp_path):
    assert "a register is a mapping" in errors_of(tmp_path, "- id: x\n")[0]
    assert "not valid YAML" in errors_of(tmp_path, "exceptions: [\n")[0]
    with pytest.raises(ConfigError, match="file not found"):
        ex.load_register([tmp_path / "missing.yml"])


def test_states_on_the_scans_utc_date():
    reg_entry = ex.Entry(id="E", action="risk_accepted", controls=["SSH-002"], hosts=["*"], justification="j",
                         approved_by="a", expires=date(2027, 3, 31))
    assert ex.state(reg_entry, date(2027, 3, 1)) == "active"
    assert ex.state(reg_entry, date(2027, 3, 18)) == "expiring"       # 13 days left
    assert ex.state(reg_entry, date(2027, 3, 31)) == "expiring"       # the date itself is covered
    assert ex.state(reg_entry, date(2027, 4, 1)) == "expired"
    rem = ex.Entry(id="R", action="remediation_planned", controls=["SSH-001"], hosts=["*"], justification="j",
                   owner="o", due=date(2026, 12, 31))
    assert ex.state(rem, date(2026, 12, 31)) == "active"
    assert ex.state(rem, date(2027, 1, 1)) == "overdue"


def result(status, control="SSH-002", severity="high"):
    return Result(host="legacy-db-1", control=control, status=status, severity=severity, expected="e",
                  actual={"permitrootlogin": "yes"}, message="m")


def test_only_a_fail_is_waived_and_every_match_carries_its_responses(tmp_path):
    reg = ex.load_register([write(tmp_path, GOOD)])
    today = date(2026, 12, 7)
    rs = [result("fail"), result("error"), result("pass"), result("not_applicable"), result("fail", "SSH-001"),
          result("fail", "FW-001")]
    ex.apply(rs, "legacy-db-1", ["prod"], reg, today)
    assert [r.status for r in rs] == ["waived", "error", "pass", "not_applicable", "fail", "waived"]
    assert rs[0].expected == "e" and rs[0].actual == {"permitrootlogin": "yes"} and rs[0].message == "m"
    (resp,) = rs[0].responses
    assert resp == {"id": "EXC-2026-014", "action": "risk_accepted", "state": "active",
                    "justification": "Vendor appliance; root login needed until the migration in Q2.",
                    "approved_by": "Jana Beispiel (CISO)", "granted": "2026-11-02", "expires": "2027-03-31",
                    "ticket": "SEC-1234", "owner": None, "due": None}
    assert [p["id"] for p in rs[1].responses] == ["EXC-2026-014"]      # an error keeps its status, not its match
    assert [p["id"] for p in rs[4].responses] == ["REM-1"]             # remediation planned: still fail
    assert exit_code(rs, "info") == 1                                  # the SSH-001 fail
    assert exit_code([rs[0], rs[5], rs[2]], "info") == 0               # waived never fails the run


def test_an_expired_waiver_leaves_the_fail(tmp_path):
    reg = ex.load_register([write(tmp_path, GOOD)])
    (r,) = rs = [result("fail")]
    ex.apply(rs, "legacy-db-1", [], reg, date(2027, 4, 1))
    assert r.status == "fail" and r.responses[0]["state"] == "expired"
    ex.apply(rs2 := [result("fail")], "web1", ["dmz"], reg, date(2026, 12, 7))
    assert rs2[0].status == "fail" and rs2[0].responses == []


def test_document_and_expiring_within(tmp_path):
    reg = ex.load_register([write(tmp_path, GOOD)])
    doc = ex.document(reg, date(2027, 3, 20))
    assert doc["files"] == reg.files and doc["sha256"] == reg.sha256 and doc["date"] == "2027-03-20"
    assert [(e["id"], e["state"]) for e in doc["entries"]] == [("EXC-2026-014", "expiring"), ("FP-7", "active"),
                                                               ("REM-1", "overdue")]
    assert doc["entries"][0]["line"] == 2 and doc["entries"][0]["expires"] == "2027-03-31"
    assert [loc.entry.id for loc in ex.expiring_within(reg, date(2027, 3, 1), 31)] == ["EXC-2026-014", "REM-1"]
    assert ex.document(None, date(2027, 1, 1)) is None


def test_the_roll_up_of_a_measure_whose_only_failures_are_waived():
    assert measure_status(["pass", "waived"]) == "met_with_exceptions"
    assert measure_status(["waived"]) == "met_with_exceptions"
    assert measure_status(["waived", "fail"]) == "not_met"
    assert measure_status(["waived", "error"]) == "not_verified"
    assert measure_status(["pass"]) == "met"


def test_deviations_are_the_overrides_that_loosen_a_control():
    by_id = {lc.id: lc.control for lc in load_controls().controls}
    assert loosening(by_id["SSH-002"], "root_login_allowed", ["no", "prohibit-password"]) == \
        "permitrootlogin one_of: also allows prohibit-password"
    assert loosening(by_id["SSH-002"], "root_login_allowed", ["no"]) is None
    assert "allows more (6 > 4)" in loosening(by_id["SSH-004"], "max_auth_tries", 6)
    assert loosening(by_id["SSH-004"], "max_auth_tries", 3) is None                 # stricter: not listed
    assert "also allows 443/tcp" in loosening(by_id["NET-001"], "allowed", ["22/tcp", "68/udp", "546/udp", "443/tcp"])
    hosts = [SimpleNamespace(name="db", params={"SSH-004": {"max_auth_tries": 6}, "SSH-002": {"root_login_allowed": ["no"]}})]
    assert deviations(by_id, hosts) == [{"host": "db", "control": "SSH-004", "param": "max_auth_tries", "default": 4,
                                         "value": 6, "why": "maxauthtries at_most: allows more (6 > 4)"}]


def test_the_register_of_hardencheck_yml_is_checked_before_anything_connects(tmp_path):
    from hardencheck.config import load_settings
    from hardencheck.scan.plan import ScanRequest, prepare

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    (tmp_path / "reg").mkdir()
    (tmp_path / "reg" / "a.yml").write_text((root / "inventories" / "exceptions.example.yml").read_text())
    cfg = tmp_path / "hardencheck.yml"
    cfg.write_text("exceptions: reg\n")
    assert load_settings(str(cfg)).exceptions == [str(tmp_path / "reg")]
    req = ScanRequest(inventory=str(root / "inventories" / "example.yml"), config=str(cfg), ssh_config="/dev/null",
                      limit=["web1.example.com"])
    plan = prepare(req)                 # the register names db1 and staging: the whole inventory counts
    assert [e.entry.id for e in plan.register.entries] == ["EXC-2026-014", "FP-2026-003", "REM-2026-021"]
    (tmp_path / "reg" / "b.yml").write_text("exceptions:\n  - id: X\n    action: false_positive\n"
                                            "    controls: [FW-001]\n    groups: [nosuchgroup]\n"
                                            "    justification: j\n    approved_by: a\n")
    with pytest.raises(ConfigErrors) as e:
        prepare(req)
    assert [str(x) for x in e.value.errors] == [
        f"{tmp_path / 'reg' / 'b.yml'}:5 [exceptions[0].groups[0]]: 'nosuchgroup' matches no group of the "
        "inventory (groups: databases, db, prod, staging, web)"]
