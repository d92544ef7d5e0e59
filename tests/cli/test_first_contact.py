"""What a newcomer meets first: help, typos, showing a control, counts, plurals, the cover's
exit-code line. Everything through the real CLI (as a process where the console width matters)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from hardencheck.cli import main

REPO = Path(__file__).resolve().parents[2]


def hc(*args, env=None):
    return subprocess.run([sys.executable, "-m", "hardencheck", *args], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), cwd=REPO)


def test_bare_command_prints_help_not_an_error():
    p = hc()
    assert p.returncode == 0, p.stderr
    assert "usage: hardencheck" in p.stdout and "scan" in p.stdout and "examples:" in p.stdout
    assert "error" not in p.stderr


def test_a_mistyped_option_gets_the_subcommands_usage_and_a_suggestion():
    p = hc("scan", "--fial-on", "high")
    assert p.returncode == 3
    assert p.stderr.startswith("usage: hardencheck scan "), p.stderr
    assert "did you mean --fail-on?" in p.stderr


def test_scan_help_shows_the_timeout_defaults_and_examples():
    p = hc("scan", "--help", env={"COLUMNS": "200"})
    assert p.returncode == 0
    assert "(default: the inventory's connect_timeout, else 10)" in p.stdout
    assert "(default: the inventory's command_timeout, else 300)" in p.stdout
    assert "examples:" in p.stdout and "hardencheck scan -i inventories/prod.yml" in p.stdout


def test_controls_show_writes_the_file_byte_for_byte_and_finds_lower_case_ids():
    p = hc("controls", "show", "ssh-001", env={"COLUMNS": "30"})   # a narrow console wraps nothing
    assert p.returncode == 0, p.stderr
    assert p.stdout == (REPO / "controls" / "ssh" / "SSH-001.yml").read_text()
    assert yaml.safe_load(p.stdout)["id"] == "SSH-001"
    q = hc("controls", "show", "ssh-01")
    assert q.returncode == 3 and "did you mean SSH-001" in q.stderr


def test_tom_coverage_says_none_instead_of_an_empty_list(capsys):
    assert main(["tom", "coverage"]) == 0
    out = capsys.readouterr().out
    assert "0 control(s) that prove no item of this catalog:\n  none: every control proves at least one item" \
        in out


def test_verify_counts_bundles_and_chain_runs(tmp_path, capsys):
    out = tmp_path / "reports"
    for _ in range(2):
        main(["scan", "--out", str(out), "--control", "RAID-001", "--quiet", "--no-history", "--format", "md"])
    capsys.readouterr()
    assert main(["verify", "--chain", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 bundle(s) checked: 2 intact and complete, 0 incomplete, 0 with problems" in text
    assert "inventory local: 2 run(s) in the chain" in text
    # one host: "1 host", not "1 hosts"
    md = next(out.glob("*/summary.md")).read_text()
    assert "1 host" in md and "1 hosts" not in md


def test_results_and_cover_name_the_effective_fail_on(tmp_path):
    out = tmp_path / "reports"
    main(["scan", "--out", str(out), "--control", "RAID-001,SSH-001", "--quiet", "--no-history"])
    run = next(p for p in out.iterdir() if p.is_dir())
    doc = json.loads((run / "results.json").read_text())
    assert doc["run"]["options"]["fail_on"] == "info"
    html = (run / "report.html").read_text()
    assert "'None'" not in html and "None" not in html.split("<body", 1)[1][:20000]
    # a document written before the fix (null) still reads as "any failure"
    doc["run"]["options"]["fail_on"] = None
    doc["run"]["exit_code"] = 1
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    assert main(["report", str(old), "--format", "html", "--out", str(tmp_path / "old")]) == 0
    assert "at or above &#39;info&#39;" in (tmp_path / "old" / "report.html").read_text() or \
        "at or above 'info'" in (tmp_path / "old" / "report.html").read_text()


def test_a_local_scan_as_non_root_says_so_up_front(tmp_path):
    if os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists():
        import pytest
        pytest.skip("needs root to drop to another user")
    drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if subprocess.run([*drop, sys.executable, "-c", "import hardencheck"], cwd="/", capture_output=True).returncode:
        import pytest
        pytest.skip("user nobody cannot read this checkout or its venv")
    home = Path(tempfile.mkdtemp(prefix="hc-nobody-", dir="/tmp"))   # pytest's tmp_path is root's alone
    try:
        home.chmod(0o777)
        p = subprocess.run([*drop, sys.executable, "-m", "hardencheck", "scan", "--out", str(home / "out"), "--no-history", "--quiet",
                            "--format", "json", "--control", "ACCT-001,SSH-001"],
                           capture_output=True, text=True, cwd=home, env=dict(os.environ, HOME=str(home)))
        assert p.stderr.startswith("note: this machine is scanned as nobody, not root:"), p.stderr
        doc = json.loads(next((home / "out").glob("*/results.json")).read_text())
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert {r["reason"] for r in doc["results"] if r["status"] == "error"} <= {"permission_denied"}
    # as root: no such note
    q = hc("scan", "--out", str(tmp_path / "root"), "--no-history", "--quiet", "--format", "json",
           "--control", "RAID-001")
    assert "note:" not in q.stderr
