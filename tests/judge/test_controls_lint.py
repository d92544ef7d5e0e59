"""Control files: the shipped library lints clean; broken files name file, line and field."""

import textwrap

import pytest

from hardencheck.cli import main
from hardencheck.judge.controls import load_controls
from hardencheck.errors import ConfigError, ConfigErrors

GOOD = """\
id: TST-001
title: A valid test control
description: A control used by the lint tests.
severity: low
probe: sshd.config
params:
  allowed: ["no"]
expect:
  - {fact: passwordauthentication, op: equals, value: "no"}
  - {fact: permitrootlogin, op: one_of, param: allowed}
remediation: Nothing to remediate here.
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def errors_of(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_controls(tmp_path)
    e = ei.value
    return e.errors if isinstance(e, ConfigErrors) else [e]


def test_shipped_library_lints_clean():
    cs = load_controls()
    ids = {lc.id for lc in cs.controls}
    assert {"SSH-001", "FW-001", "DISK-001", "PATCH-001", "RAID-001", "SCAN-001", "SCAN-002"} <= ids
    assert main(["controls", "lint"]) == 0


def test_valid_control_loads(tmp_path):
    write(tmp_path, "TST-001.yml", GOOD)
    cs = load_controls(tmp_path)
    assert [lc.id for lc in cs.controls] == ["TST-001"] and len(cs.sha256) == 64


@pytest.mark.parametrize("bad,line,field,words", [
    (GOOD.replace("severity: low", "severity: urgent"), 4, "severity", "'info'"),
    (GOOD.replace("probe: sshd.config", "probe: sshd.nonsense"), 5, "probe", "unknown probe"),
    (GOOD.replace("op: equals", "op: equal"), 9, "expect[0].op", "unknown operator"),
    (GOOD.replace("param: allowed", "param: allowd"), 10, "expect[1].param", "allowd"),
    (GOOD.replace("remediation:", "remedation:"), 11, "remedation", "unknown field"),
    (GOOD.replace('value: "no"}', "value: [1, 2]}").replace("op: equals", "op: at_most"), 9, "expect[0]", "number"),
    (GOOD + "expect: []\n", 12, "expect", "twice"),
    (GOOD + "references: {iso27001_2022: [A.9.1]}\n", 12, "references.iso27001_2022", "Annex A id"),
    (GOOD + "references:\n  bsi_grundschutz_2023: [sys-1]\n", 13, "references.bsi_grundschutz_2023", "IT-Grundschutz"),
])
def test_broken_control_names_file_line_and_field(tmp_path, bad, line, field, words):
    write(tmp_path, "TST-001.yml", bad)
    errs = errors_of(tmp_path)
    assert any(e.file.endswith("TST-001.yml") and e.line == line and (field is None or e.field == field)
               and words in e.message for e in errs), [str(e) for e in errs]


def test_duplicate_ids_across_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "TST-001.yml", GOOD)
    write(tmp_path / "b", "TST-001.yml", GOOD)
    errs = errors_of(tmp_path)
    assert any("duplicate control id TST-001" in e.message for e in errs)


def test_file_name_must_match_id(tmp_path):
    write(tmp_path, "TST-002.yml", GOOD)
    errs = errors_of(tmp_path)
    assert errs[0].field == "id" and "TST-001.yml" in errs[0].message


def test_bad_probe_argument_is_refused(tmp_path):
    write(tmp_path, "TST-001.yml", GOOD.replace("probe: sshd.config", "probe: rkhunter.log\nargs: {path: relative/log}")
          .replace("passwordauthentication", "exists"))
    errs = errors_of(tmp_path)
    assert any("absolute path" in e.message for e in errs)


def test_lint_command_reports_all_errors_and_exits_3(tmp_path, capsys):
    write(tmp_path, "TST-001.yml", GOOD.replace("severity: low", "severity: urgent"))
    write(tmp_path, "TST-002.yml", GOOD.replace("TST-001", "TST-002").replace("probe: sshd.config", "probe: x.y"))
    assert main(["controls", "lint", str(tmp_path)]) == 3
    cap = capsys.readouterr()
    text = cap.out + cap.err
    # both files are reported in one run
    assert "TST-001.yml:4 [severity]" in text and "TST-002.yml:5 [probe]" in text


def test_inventory_parameter_overrides_are_type_checked():
    from hardencheck.judge.controls import check_param_overrides

    cs = load_controls()
    ok = {"SSH-001": {"root_login_allowed": ["no"]}, "SCAN-001": {"max_age_days": 1}}
    assert check_param_overrides(cs, ok, "inv.yml") == []
    bad = {"SSH-001": {"root_login_allowed": "no"}, "SCAN-001": {"max_age": 1}, "NOPE-001": {}}
    msgs = [str(e) for e in check_param_overrides(cs, bad, "inv.yml")]
    assert any("params.SSH-001.root_login_allowed" in m and "must be a list" in m for m in msgs)
    assert any("no parameter 'max_age'" in m for m in msgs)
    assert any("unknown control 'NOPE-001'" in m for m in msgs)
    bad_path = {"SCAN-002": {"report_path": "relative/dir"}}
    assert any("absolute path" in str(e) for e in check_param_overrides(cs, bad_path, "inv.yml"))
