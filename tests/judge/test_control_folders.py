"""A site's own control folders (issue 14.1): merged with the library, clashes named with both
files, cases run by ``controls test``, the generic resources' argument rules, and the engine's one
section per resource."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.collect.engine import HostScan, ScanOptions
from hardencheck.errors import ConfigError
from hardencheck.judge.controls import default_controls_dir, load_controls
from hardencheck.scan.plan import ScanRequest, prepare

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "controls"

FILE_CONTROL = """id: {id}
title: A site file check for the tests
description: The file exists and is private.
severity: low
probe: resource.file
args: {args}
expect:
  - {{fact: exists, op: equals, value: true}}
remediation: Create the file.
"""


def _folder(tmp_path: Path, controls: dict[str, str], cases: dict[str, str] | None = None) -> Path:
    d = tmp_path / "site"
    (d / "tests").mkdir(parents=True, exist_ok=True)
    for cid, args in controls.items():
        (d / f"{cid}.yml").write_text(FILE_CONTROL.format(id=cid, args=args))
    for cid, text in (cases or {}).items():
        (d / "tests" / f"{cid}.yml").write_text(text)
    return d


def test_a_folder_is_merged_with_the_library():
    lib = load_controls()
    both = load_controls(None, extra=[EXAMPLES])
    assert len(both.controls) == len(lib.controls) + 12
    assert both.extra_roots == [str(EXAMPLES)] and both.sha256 != lib.sha256
    assert load_controls(None, extra=[default_controls_dir()]).sha256 == lib.sha256   # given again: once


def test_a_clashing_id_names_both_files(tmp_path):
    d = _folder(tmp_path, {"SSH-001": "{path: /etc/x}"})
    with pytest.raises(ConfigError) as e:
        load_controls(None, extra=[d])
    text = str(e.value)
    assert "duplicate control id SSH-001" in text and str(d / "SSH-001.yml") in text
    assert str(default_controls_dir() / "ssh" / "SSH-001.yml") in text


def test_a_resource_needs_its_subject_and_a_command_is_never_a_parameter(tmp_path):
    d = _folder(tmp_path, {"SITE-001": "{}"})
    with pytest.raises(ConfigError, match="needs the argument 'path'"):
        load_controls(d)
    d = tmp_path / "cmd"
    d.mkdir()
    (d / "SITE-002.yml").write_text(
        "id: SITE-002\ntitle: A command from a parameter\ndescription: Must be refused.\nseverity: low\n"
        "probe: resource.command\nargs: {run: {param: cmd}}\nparams: {cmd: id}\n"
        "expect:\n  - {fact: exit_code, op: equals, value: 0}\nremediation: Write the command in the control.\n")
    with pytest.raises(ConfigError) as e:
        load_controls(d)
    assert "SITE-002.yml" in str(e.value) and "must be written in the control" in str(e.value)


def test_controls_test_runs_a_folders_cases(tmp_path, capsys):
    assert main(["controls", "test", str(EXAMPLES)]) == 0
    assert "27 of 27 case(s) OK for 12 control(s)" in capsys.readouterr().out
    good = "- {name: there, facts: {exists: true}, status: pass}\n- {name: gone, facts: {exists: false}, status: fail}\n"
    d = _folder(tmp_path, {"SITE-001": "{path: /etc/x}", "SITE-002": "{path: /etc/y}"},
                {"SITE-001": good, "SITE-002": "- {name: wrong, facts: {exists: false}, status: pass}\n"})
    assert main(["controls", "test", str(d)]) == 1
    out = capsys.readouterr().out
    assert "FAIL SITE-002 wrong: status fail, expected pass" in out
    assert "SITE-002 has no case with status fail" in out
    assert "SITE-001" not in out.replace("for 2 control(s)", "")


def test_scan_plan_merges_cli_and_config_folders(tmp_path):
    d = _folder(tmp_path, {"SITE-001": "{path: /etc/x}"})
    cfg = tmp_path / "hardencheck.yml"
    cfg.write_text(f"controls: {EXAMPLES}\n")
    plan = prepare(ScanRequest(controls=[str(d)], config=str(cfg), formats=["json"]))
    ids = set(plan.controls.by_id())
    assert {"SITE-001", "ACME-012", "SSH-001"} <= ids
    lib = tmp_path / "lib"
    shutil.copytree(default_controls_dir(), lib)
    plan = prepare(ScanRequest(library=str(lib), formats=["json"]))
    assert plan.controls.root == str(lib) and "SITE-001" not in plan.controls.by_id()


class _Host:
    name, address, params, tags, groups = "h", "198.18.0.2", {}, [], []


def test_n_controls_of_one_resource_share_one_section(tmp_path):
    d = _folder(tmp_path, {f"SITE-{i:03d}": f"{{path: /etc/f{i}}}" for i in range(1, 6)}
                | {"SITE-006": "{path: /etc/f1}"})          # the same subject twice: one item
    cs = load_controls(d)
    scan = HostScan(_Host(), cs, ScanOptions(), None, lambda *a: None)
    specs = [s for s in scan.plan(cs.controls) if s.id.startswith("resource.file")]
    assert [s.id for s in specs] == ["resource.file/items"]
    (spec,) = specs
    per_item = 5                                     # key, path, content, max_lines, hash_max_bytes
    assert len(spec.args) == 5 * per_item
    assert [spec.args[i * per_item + 1] for i in range(5)] == [f"/etc/f{i}" for i in range(1, 6)]
    assert spec.timeout == 30 + 2 * 5
    assert spec.tools == ("sha256sum",)
