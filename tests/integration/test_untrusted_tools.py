"""Never a false pass from a planted binary, against a real server (a lab of its own, no mocks).

The lab's ``faketools`` host (tests/lab UNTRUSTED_KINDS) allows password and root logins, and its private
/usr/local (a tmpfs in its mount namespace; this machine's /usr/local is never written) holds

* ``/usr/local/sbin/sshd``, a script that prints a clean ``sshd -T`` (``passwordauthentication
  no``, ``permitrootlogin no``): with /usr/local first in PATH it made SSH-001 and SSH-002 pass.
  The real /usr/sbin/sshd must answer;
* ``/usr/local/bin/fail2ban-client``, world-writable, and ``/usr/local/sbin/ufw``, owned by uid
  1000: whoever can write them is root at the next scan. They are not run, and the controls that
  rely on them (ACCT-010, FW-001) are ``error: untrusted_binary`` naming path, owner and mode;
* ``/usr/local/bin/aide``, root's, only there (an admin-installed tool): used, and its record in
  the evidence says it is outside the system directories.

Its rkhunter.log holds NUL bytes (zero padding after a "crash", one inside the line that starts the run):
SCAN-001 reads it as text.

This module starts its own lab, with the prefix ``$HC_LAB_PREFIX`` + ``ut``, beside the standard one.
"""

import json
import os
import subprocess

import pytest

from hardencheck.cli import main
from hardencheck.collect.probe_script import BASE_TOOLS
from tests.conftest import lab_unavailable_or_skip, lab_prefix

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def tools_lab(tmp_path_factory):
    lab_unavailable_or_skip()
    from tests.lab import Lab

    prefix = lab_prefix("ut")
    with Lab(tmp_path_factory.mktemp("toolslab"), prefix=prefix) as lab:
        lab.start(["hardened", "faketools"])
        yield lab


@pytest.fixture(scope="module")
def doc(tools_lab, tmp_path_factory):
    lab = tools_lab
    tmp = tmp_path_factory.mktemp("toolsscan")
    inv = tmp / "inv.yml"
    inv.write_text(f"defaults: {{user: root, identity_file: {lab.client_key_path}, "
                   f"known_hosts_file: {lab.known_hosts_path}, connect_timeout: 3}}\nhosts:\n"
                   + "".join(f"  {n}: {{address: {h.address}}}\n" for n, h in lab.hosts.items()))
    out = tmp / "out"
    code = main(["scan", "-i", str(inv), "--ssh-config", "/dev/null", "--out", str(out), "--quiet",
                 "--no-history"])
    assert code in (0, 1)
    (path,) = out.glob("*/results.json")
    return json.loads(path.read_text())


def result(doc, host, control):
    return next(r for r in doc["results"] if r["host"] == host and r["control"] == control)


def evidence(doc, host, section):
    return doc["evidence"][f"{host}/{section}"]


def on_host(lab, *command) -> str:
    return subprocess.run(lab.ssh_argv("faketools", *command), capture_output=True, text=True,
                          timeout=30).stdout


def test_the_trap_is_set(tools_lab):
    """The planted sshd is there and would win under the old PATH (/usr/local first)."""
    assert "passwordauthentication no" in on_host(tools_lab, "/usr/local/sbin/sshd", "-T")
    old = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; command -v sshd"
    assert on_host(tools_lab, old).strip() == "/usr/local/sbin/sshd"
    assert "passwordauthentication yes" in on_host(tools_lab, "/usr/sbin/sshd", "-T")
    assert not os.path.exists("/usr/local/sbin/sshd") or \
        "planted" not in open("/usr/local/sbin/sshd", errors="replace").read()   # this machine's untouched


def test_a_fake_sshd_cannot_make_ssh_001_or_002_pass(doc):
    r = result(doc, "faketools", "SSH-001")
    assert r["status"] == "fail", r
    assert r["actual"]["passwordauthentication"] == "yes" and r["actual"]["permitrootlogin"] == "yes"
    r2 = result(doc, "faketools", "SSH-002")
    assert r2["status"] == "fail" and r2["actual"]["permitrootlogin"] == "yes", r2
    (sid,) = [s for s in r["evidence"]["sections"] if s.endswith("sshd.config/effective")]
    assert r2["evidence"]["sections"] == r["evidence"]["sections"]
    (rec,) = doc["evidence"][sid]["tools"]
    assert rec == {"tool": "sshd", "status": "ok", "path": "/usr/sbin/sshd",
                   "real_path": "/usr/sbin/sshd", "uid": 0, "gid": 0, "mode": rec["mode"], "system_dir": True}
    assert result(doc, "hardened", "SSH-001")["status"] == "pass"
    assert result(doc, "hardened", "SSH-002")["actual"]["permitrootlogin"] == "prohibit-password"


def test_untrusted_binaries_are_errors_and_never_run(tools_lab, doc):
    f2b = result(doc, "faketools", "ACCT-010")
    assert (f2b["status"], f2b["reason"]) == ("error", "untrusted_binary"), f2b
    assert "/usr/local/bin/fail2ban-client" in f2b["message"] and "writable by group or others" in f2b["message"]
    assert "mode 777" in f2b["message"]
    fw = result(doc, "faketools", "FW-001")
    assert (fw["status"], fw["reason"]) == ("error", "untrusted_binary"), fw
    assert "/usr/local/sbin/ufw" in fw["message"] and "not owned by root" in fw["message"]
    assert "uid 1000" in fw["message"]
    recs = [t for s in fw["evidence"]["sections"] for t in doc["evidence"][s].get("tools", [])]
    (ufw,) = [t for t in recs if t["tool"] == "ufw"]
    assert ufw["status"] == "untrusted" and ufw["offending"] == {"path": "/usr/local/sbin/ufw", "uid": 1000,
                                                                  "mode": "755"}
    assert ufw["system_dir"] is False
    # the planted scripts would have left a trace in the host's /tmp
    assert on_host(tools_lab, "ls /tmp/hc-untrusted-ran 2>/dev/null || echo absent").strip() == "absent"
    # on the hardened host the same controls are judged as before
    assert result(doc, "hardened", "FW-001")["status"] == "pass"


def test_a_tool_only_in_usr_local_is_used_and_flagged(doc):
    r = result(doc, "faketools", "SCAN-003")
    assert r["reason"] != "untrusted_binary"
    (aide,) = [t for s in r["evidence"]["sections"] for t in doc["evidence"][s].get("tools", [])
               if t["tool"] == "aide"]
    assert aide["status"] == "ok" and aide["path"] == "/usr/local/bin/aide" and aide["system_dir"] is False
    assert aide["uid"] == 0


def test_the_base_tools_are_recorded_once_per_host(doc):
    for host in ("hardened", "faketools"):
        recs = evidence(doc, host, "host.os/identity")["tools"]
        assert [t["tool"] for t in recs] == list(BASE_TOOLS)
        found = [t for t in recs if t["status"] != "missing"]
        assert found and all(t["status"] == "ok" and t["system_dir"] and t["uid"] == 0 for t in found)


def test_a_log_with_nul_bytes_is_read_as_text(doc):
    fake, hard = result(doc, "faketools", "SCAN-001"), result(doc, "hardened", "SCAN-001")
    assert fake["status"] == hard["status"] and fake["reason"] == hard["reason"]
    same = lambda a: {k: v for k, v in a.items() if k != "modified_at"}   # noqa: E731 (written apart)
    assert same(fake["actual"]) == same(hard["actual"]), (fake["actual"], hard["actual"])
    (sid,) = fake["evidence"]["sections"]
    assert "binary file matches" not in doc["evidence"][sid]["stdout"].lower()
    assert "Start date is" in doc["evidence"][sid]["stdout"]
