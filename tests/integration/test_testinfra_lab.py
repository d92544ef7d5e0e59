"""pytest-testinfra tests as controls, against the real lab hosts (issue 14, part 2).

Both directions: ``hardencheck scan --testinfra DIR`` (results, evidence, TOM, reports, bundle)
and ``pytest --hardencheck-inventory INV DIR`` (the plugin alone). Every connection is
hardencheck's own: the host with a wrong key is an error, never a pass or a fail."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from hardencheck.cli import main
from hardencheck.results import validate_document

pytestmark = pytest.mark.lab

SECRET = "hunter2-Xq9"

CHECKS = textwrap.dedent('''
    import pytest


    @pytest.mark.hardencheck(id="ACME-SSH-001", title="sshd_config belongs to root", severity="high",
                             tom=["1.2.2"])
    def test_sshd_config_owner(host):
        assert host.file("/etc/ssh/sshd_config").user == "root"


    @pytest.mark.hardencheck(id="ACME-WEB-001", title="No web server on port 8080", severity="medium")
    def test_no_8080(host):
        assert not host.socket("tcp://0.0.0.0:8080").is_listening


    @pytest.mark.hardencheck(id="ACME-ERR-001", title="A test that raises", severity="low")
    def test_raises(host):
        host.run("printf 'password=SECRET\\n<script>alert(1)</script>\\033[31m\\n'")
        raise RuntimeError("the helper crashed")


    @pytest.mark.hardencheck(id="ACME-SKIP-001", title="Skipped where it does not apply", severity="low")
    def test_skip(host):
        pytest.skip("only for database servers")


    @pytest.mark.hardencheck(id="ACME-ROOT-001", title="The shadow file is readable by the scan", severity="low")
    def test_shadow_readable(host):
        # root only: passes on a host scanned as root and on the sudo host (become)
        assert host.run("head -c1 /etc/shadow").rc == 0
''').replace("SECRET", SECRET)


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    d = tmp_path_factory.mktemp("checks")
    (d / "test_acme.py").write_text(CHECKS)
    return d


def scan(lab, tmp_path, *extra):
    out = tmp_path / "reports"
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", str(lab.ssh_config_path), "--out", str(out), "--quiet", "--no-history", *extra])
    docs = sorted(out.glob("*/results.json"))
    return code, docs


@pytest.fixture(scope="module")
def scanned(lab, checks, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiscan")
    code, docs = scan(lab, tmp, "--limit", "hardened,weak,wrongkey,sudo", "--tags", "testinfra",
                      "--testinfra", str(checks), "--format", "json,html,md")
    assert len(docs) == 1
    doc = json.loads(docs[0].read_text())
    validate_document(doc)
    return code, doc, docs[0].parent


def outcome(doc, host, control):
    [r] = [r for r in doc["results"] if r["host"] == host and r["control"] == control]
    return r


def test_statuses(scanned):
    code, doc, _ = scanned
    assert outcome(doc, "hardened", "ACME-SSH-001")["status"] == "pass"
    assert outcome(doc, "hardened", "ACME-WEB-001")["status"] == "pass"
    weak = outcome(doc, "weak", "ACME-WEB-001")
    assert weak["status"] == "fail" and "assert" in weak["message"]
    err = outcome(doc, "hardened", "ACME-ERR-001")
    assert err["status"] == "error" and err["reason"] == "test_error"      # an exception is never a fail
    assert "RuntimeError" in err["message"]
    skip = outcome(doc, "weak", "ACME-SKIP-001")
    assert skip["status"] == "not_applicable" and "only for database servers" in skip["message"]
    assert outcome(doc, "sudo", "ACME-ROOT-001")["status"] == "pass"     # become: through sudo
    assert code == 1                                                      # weak's failure


def test_wrong_host_key_is_an_error_for_every_test(scanned):
    _, doc, _ = scanned
    for cid in ("ACME-SSH-001", "ACME-WEB-001", "ACME-ERR-001", "ACME-ROOT-001"):
        r = outcome(doc, "wrongkey", cid)
        assert r["status"] == "error" and r["reason"] == "hostkey_mismatch", r


def test_commands_are_the_evidence(scanned):
    _, doc, _ = scanned
    r = outcome(doc, "hardened", "ACME-SSH-001")
    assert r["evidence"]["probe"] == "testinfra" and r["evidence"]["sections"]
    records = [doc["evidence"][e] for e in r["evidence"]["sections"]]
    assert any("/etc/ssh/sshd_config" in rec["code"] for rec in records)
    assert all(rec["host"] == "hardened" and rec["exit_code"] is not None for rec in records)
    assert r["evidence"]["host"]["host_key_fingerprint"].startswith("SHA256:")
    fail = outcome(doc, "weak", "ACME-WEB-001")
    assert "assert" in fail["evidence"]["test_report"]


def test_hostile_output_is_redacted_and_inert(scanned):
    _, doc, run_dir = scanned
    r = outcome(doc, "hardened", "ACME-ERR-001")
    [rec] = [doc["evidence"][e] for e in r["evidence"]["sections"]]
    assert "[REDACTED" in rec["stdout"] and SECRET not in rec["stdout"]
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    html = (run_dir / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "\x1b[31m" not in html
    assert "ACME-ERR-001" in html


def test_marker_measure_joins_the_tom_rollup(scanned):
    _, doc, _ = scanned
    [item] = [i for i in doc["tom"]["items"] if i["id"] == "1.2.2"]
    assert "ACME-SSH-001" in json.dumps(item)


def test_bad_markers_stop_the_scan_before_it_connects(lab, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "test_bad.py").write_text(textwrap.dedent('''
        import pytest

        def test_unmarked(host):
            assert True

        @pytest.mark.hardencheck(id="lower-1", title="bad id", severity="high")
        def test_bad_id(host):
            assert True

        @pytest.mark.hardencheck(id="SSH-001", title="Clashes with the library", severity="high")
        def test_clash(host):
            assert True

        @pytest.mark.hardencheck(id="ACME-X-001", title="Unknown measure", severity="high", tom=["99.9"])
        def test_measure(host):
            assert True
    '''))
    code, docs = scan(lab, tmp_path, "--limit", "hardened", "--testinfra", str(bad))
    err = capsys.readouterr().err
    assert code == 3 and docs == []
    assert "test_bad.py:4" in err and "hardencheck" in err              # no marker
    assert "lower-1" in err                                             # bad id
    bad.joinpath("test_bad.py").write_text(bad.joinpath("test_bad.py").read_text()
                                           .replace("def test_unmarked", "def _unmarked")
                                           .replace('id="lower-1"', 'id="ACME-OK-001"'))
    code, docs = scan(lab, tmp_path, "--limit", "hardened", "--testinfra", str(bad))
    err = capsys.readouterr().err
    assert code == 3 and docs == []
    assert "SSH-001" in err and "library" in err
    bad.joinpath("test_bad.py").write_text(bad.joinpath("test_bad.py").read_text().replace('id="SSH-001"',
                                                                                         'id="ACME-OK-002"'))
    code, docs = scan(lab, tmp_path, "--limit", "hardened", "--testinfra", str(bad))
    err = capsys.readouterr().err
    assert code == 3 and docs == [] and "99.9" in err


def test_plain_pytest_with_the_inventory(lab, checks, tmp_path):
    """The other direction: pytest runs the folder with hardencheck's host list and connection."""
    out = tmp_path / "out.json"
    kh = str(lab.known_hosts_path)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null",
                        "--rootdir", str(checks), "--hardencheck-inventory", str(lab.inventory_path),
                        "--hardencheck-limit", "hardened,weak,wrongkey", "--hardencheck-known-hosts", kh,
                        "--hardencheck-results", str(out), str(checks)],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 1, p.stdout[-3000:]           # weak's failure, the raising test, wrongkey
    assert "hardencheck://hardened" in p.stdout or "hardened" in p.stdout
    tests = json.loads(out.read_text())["tests"]
    got = {(t["host"], t["test"].split("::")[1]): (t["outcome"], t["reason"]) for t in tests}
    assert got[("hardened", "test_sshd_config_owner")] == ("passed", None)
    assert got[("weak", "test_no_8080")] == ("failed", None)
    assert got[("weak", "test_raises")] == ("error", "test_error")
    assert got[("wrongkey", "test_sshd_config_owner")] == ("error", "hostkey_mismatch")
    assert got[("hardened", "test_skip")] == ("skipped", None)
