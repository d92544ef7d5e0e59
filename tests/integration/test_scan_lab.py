"""Real SSH scans of the lab hosts through the real CLI: statuses, actual values, evidence, exit codes.

The lab (tests/lab) starts one sshd per host in its own network and mount namespace. Disk, RAID
and kernel state are this machine's own (no dm-crypt or md here), so those verdicts are
compared with what the local machine really has.
"""

import json
import re

import pytest

from hardencheck.cli import main
from hardencheck.results import validate_document

pytestmark = pytest.mark.lab

DESIGN = ["SSH-001", "FW-001", "DISK-001", "PATCH-001", "RAID-001", "SCAN-001", "SCAN-002"]


def run_cli(lab, tmp_path, *extra):
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "reports"
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", str(lab.ssh_config_path), "--out", str(out), "--quiet", *extra])
    docs = sorted(out.glob("*/results.json"))
    assert len(docs) == 1, docs
    doc = json.loads(docs[0].read_text())
    validate_document(doc)
    return code, doc


@pytest.fixture(scope="module")
def full_scan(lab, tmp_path_factory):
    # the design controls only: the whole library is scanned once, in test_library_lab.py
    return run_cli(lab, tmp_path_factory.mktemp("full"), "--control", ",".join(DESIGN))


def results(doc, host):
    return {r["control"]: r for r in doc["results"] if r["host"] == host}


def local_truth(doc, control):
    """The verdict the same control gets on the lab's own kernel-level state (disk, RAID)."""
    return results(doc, "hardened")[control]["status"]


def test_hardened_host(full_scan):
    code, doc = full_scan
    r = results(doc, "hardened")
    assert r["SSH-001"]["status"] == "pass"
    judged = {k: v for k, v in r["SSH-001"]["actual"].items() if not k.startswith("setting_sources.")}
    assert judged == {"passwordauthentication": "no", "kbdinteractiveauthentication": "no",
                      "pubkeyauthentication": "yes", "permitrootlogin": "prohibit-password",
                      "permitemptypasswords": "no"}
    # shown beside them: the file and line each value came from
    assert r["SSH-001"]["actual"]["setting_sources.passwordauthentication"].startswith("/etc/ssh/sshd_config:")
    assert r["FW-001"]["status"] == "pass"
    assert r["FW-001"]["actual"] == {"active": True, "inbound_default_deny": True,
                                     "backend": "nftables", "ipv6_enabled": True}
    assert r["PATCH-001"]["status"] == "pass", r["PATCH-001"]["message"]
    assert r["PATCH-001"]["actual"]["security_update_count"] == 0
    assert r["SCAN-001"]["status"] == "pass", r["SCAN-001"]["message"]
    assert r["SCAN-001"]["actual"]["warnings"] == 0
    assert r["SCAN-002"]["status"] == "pass", r["SCAN-002"]["message"]
    # this machine has no md arrays and unencrypted disks: the lab host reports exactly that
    assert r["RAID-001"]["status"] == "not_applicable" and r["RAID-001"]["reason"] == "precondition"
    assert r["DISK-001"]["status"] == "fail" and "/" in r["DISK-001"]["actual"]["unencrypted"]


def test_weak_host(full_scan):
    code, doc = full_scan
    r = results(doc, "weak")
    assert r["SSH-001"]["status"] == "fail"
    assert r["SSH-001"]["actual"]["passwordauthentication"] == "yes"      # from sshd_config.d/50-weak.conf
    assert r["SSH-001"]["actual"]["permitrootlogin"] == "yes"
    assert r["SSH-001"]["actual"]["setting_sources.permitrootlogin"] == "/etc/ssh/sshd_config.d/50-weak.conf:4"
    assert r["FW-001"]["status"] == "fail" and r["FW-001"]["actual"]["active"] is False
    assert r["PATCH-001"]["status"] == "fail"
    assert r["PATCH-001"]["actual"]["security_update_count"] >= 1
    assert r["PATCH-001"]["actual"]["reboot_required"] is True
    assert any(u["package"] == "openssh-server" for u in r["PATCH-001"]["actual"]["security_updates"])
    assert r["SCAN-001"]["status"] == "fail"
    assert r["SCAN-001"]["actual"]["warnings"] >= 1
    assert re.search(r"`modified_at` is \"[^\"]+\", (29|30|31)\.\d days old", r["SCAN-001"]["message"])
    assert r["SCAN-002"]["status"] == "fail"
    assert r["RAID-001"]["status"] == local_truth(doc, "RAID-001")
    assert r["DISK-001"]["status"] == local_truth(doc, "DISK-001")


def test_sudo_host_runs_probes_as_root(full_scan):
    code, doc = full_scan
    host = next(h for h in doc["hosts"] if h["name"] == "sudo")
    assert host["identity"]["user"] == "audit" and host["identity"]["sudo"] is True
    assert host["os"]["uid"] == 0
    assert host["exec"]["command"].startswith("sudo -n")
    r = results(doc, "sudo")
    assert r["SSH-001"]["status"] == "pass" and r["FW-001"]["status"] == "pass"


@pytest.mark.parametrize("host,reason,words", [
    ("wrongkey", "hostkey_mismatch", "possible man-in-the-middle"),
    ("hanging", "timeout", "no SSH banner"),
    ("unreachable", "unreachable", "refused"),
])
def test_broken_hosts_are_errors_with_a_clear_reason(full_scan, host, reason, words):
    code, doc = full_scan
    r = results(doc, host)
    assert set(DESIGN) <= set(r)
    r = {c: x for c, x in r.items() if c in DESIGN}
    assert {x["status"] for x in r.values()} == {"error"}
    assert {x["reason"] for x in r.values()} == {reason}
    assert all(words in x["message"] for x in r.values()), next(iter(r.values()))["message"]
    h = next(h for h in doc["hosts"] if h["name"] == host)
    assert h["status"] == "error" and h["error"]["reason"] == reason


def test_every_verdict_has_evidence_and_identity(full_scan, lab):
    code, doc = full_scan
    assert code == 1                       # failures on weak (and disk everywhere)
    assert doc["run"]["complete"] is True and doc["run"]["inventory"]["not_scanned"] == []
    fps = {h["name"]: h["identity"]["host_key_fingerprint"] for h in doc["hosts"]}
    assert fps["hardened"] == lab.fingerprint("hardened")
    for r in doc["results"]:
        if r["status"] in ("pass", "fail"):
            ev = r["evidence"]
            assert ev["host"]["host_key_fingerprint"] == fps[r["host"]]
            assert ev["sections"]
            for eid in ev["sections"]:
                rec = doc["evidence"][eid]
                assert rec["code"] and rec["exit_code"] is not None and rec["started_at"].endswith("Z")
    # one exec per host: one command, one script
    for h in doc["hosts"]:
        if h["status"] == "ok":
            assert h["exec"]["command"] in ("/bin/sh -s", "sudo -n -- /bin/sh -s")
            assert len(h["exec"]["script_sha256"]) == 64


def test_sshd_evidence_is_the_real_effective_config(full_scan):
    code, doc = full_scan
    ev_id = results(doc, "weak")["SSH-001"]["evidence"]["sections"][0]
    ev = doc["evidence"][ev_id]
    assert "sshd -T" in ev["code"]
    assert re.search(r"^passwordauthentication yes$", ev["stdout"], re.M)


def test_exit_code_0_when_selected_controls_pass(lab, tmp_path):
    code, doc = run_cli(lab, tmp_path, "--limit", "hardened", "--control", "SSH-001,FW-001,SCAN-001")
    assert code == 0
    statuses = {r["control"]: r["status"] for r in doc["results"]}
    assert statuses["SSH-001"] == statuses["FW-001"] == statuses["SCAN-001"] == "pass"
    assert statuses["DISK-001"] == "skipped"


def test_exit_code_2_when_only_errors(lab, tmp_path):
    code, doc = run_cli(lab, tmp_path, "--limit", "hardened,unreachable", "--control", "SSH-001")
    assert code == 2


def test_fail_on_threshold(lab, tmp_path):
    # weak fails SSH-001 and FW-001 (high), which a critical threshold lets pass ...
    code, doc = run_cli(lab, tmp_path / "high", "--limit", "weak", "--control", "SSH-001,FW-001",
                        "--fail-on", "critical")
    assert code == 0
    assert {r["severity"] for r in doc["results"] if r["status"] == "fail"} == {"high"}
    # ... but not a critical failure (a second account with UID 0)
    code, doc = run_cli(lab, tmp_path / "crit", "--limit", "weak", "--control", "ACCT-004",
                        "--fail-on", "critical")
    assert code == 1


def test_exit_code_3_on_configuration_errors(lab, tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("hosts:\n  x: {address: 'h; rm -rf /'}\n")
    assert main(["scan", "-i", str(bad), "--out", str(tmp_path / "r")]) == 3
    assert "bad.yml:2" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()



def test_a_known_hosts_line_that_cannot_be_read_fails_its_host_only(lab, tmp_path):
    """A known_hosts line whose key does not decode: the host it names is an error that names the
    file and line (not 'unknown', which trust on first use would answer with a new key; not an
    internal error of every host, as paramiko's own load made it); the other hosts are scanned."""
    address = lab.hosts["hardened"].address
    kh = tmp_path / "known_hosts"
    kept = [line for line in lab.known_hosts_path.read_text().splitlines()
            if line.split(" ", 1)[0] not in (address, f"[{address}]:22")]
    kh.write_text("\n".join(kept + [f"{address} ssh-ed25519 notbase64"]) + "\n")
    out = tmp_path / "reports"
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(kh), "--ssh-config",
                 str(lab.ssh_config_path), "--out", str(out), "--quiet", "--limit", "hardened,weak",
                 "--control", "SSH-001"])
    doc = json.loads(next(out.glob("*/results.json")).read_text())
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert code == 1                                      # weak fails SSH-001
    assert hosts["hardened"]["status"] == "error" and hosts["hardened"]["error"]["reason"] == "hostkey_unknown"
    assert f"{kh} line {len(kept) + 1} names this host" in hosts["hardened"]["error"]["message"]
    assert hosts["weak"]["status"] == "ok"


@pytest.mark.parametrize("tofu", [False, True])
def test_a_host_key_marked_revoked_is_refused_even_where_known_or_trusted_on_first_use(lab, tmp_path, tofu):
    """A key on a known_hosts '@revoked' line is refused in the key exchange (hostkey_revoked, with
    file and line), also when another line lists it for the host, and trust on first use does not
    record it; the other hosts are scanned."""
    address = lab.hosts["hardened"].address
    lines = lab.known_hosts_path.read_text().splitlines()
    own = [line for line in lines if line.split(" ", 1)[0] in (address, f"[{address}]:22")]
    assert own
    others = [line for line in lines if line not in own]
    kh = tmp_path / "known_hosts"
    kept = others if tofu else lines
    kh.write_text("\n".join(kept + ["@revoked * " + own[0].split(" ", 1)[1]]) + "\n")
    before = kh.read_bytes()
    out = tmp_path / "reports"
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(kh), "--ssh-config",
                 str(lab.ssh_config_path), "--out", str(out), "--quiet", "--limit", "hardened,weak",
                 "--control", "SSH-001", *(["--trust-on-first-use"] if tofu else [])])
    doc = json.loads(next(out.glob("*/results.json")).read_text())
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert code == 1                                      # weak fails SSH-001
    err = hosts["hardened"]["error"]
    assert hosts["hardened"]["status"] == "error" and err["reason"] == "hostkey_revoked"
    assert f"marks @revoked ({kh} line {len(kept) + 1})" in err["message"]
    assert hosts["weak"]["status"] == "ok"
    assert kh.read_bytes() == before                      # nothing trusted on first use
