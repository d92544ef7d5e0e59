"""The whole control library against the lab's real state, through the real CLI.

One scan of the standard lab (module-scoped) with every control; then, per control, the status
on the hardened and the weak host AND the fact that decides it, as the lab really has it
(tests/lab/README.md lists the state: login.defs, PAM, sudoers.d, per-netns sysctls, journald,
rotated syslog ages, backup records, accounts, world-writable paths, the extra listener).

Verdicts that depend on this machine's own state (kernel.* sysctls, disks, installed packages)
are not hard-coded: hardened and weak share the kernel and the root filesystem, so they must
agree with each other.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

import pytest

from hardencheck.cli import main
from hardencheck.results import validate_document

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def library_scan(lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("library")
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", "/dev/null", "--out", str(out), "--quiet"])
    docs = sorted(out.glob("*/results.json"))
    assert len(docs) == 1, docs
    doc = json.loads(docs[0].read_text())
    validate_document(doc)
    by = {}
    for r in doc["results"]:
        by.setdefault(r["host"], {})[r["control"]] = r
    return code, doc, by


def verdict(scan, host, control):
    by = scan[2]
    if control not in by.get(host, {}):
        pytest.fail(f"{control} is not in the library (or did not run on {host})")
    return by[host][control]


def age_days(iso: str) -> float:
    t = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    return (time.time() - t) / 86400


# (control, host) -> (status, {fact: expected value}); a callable value is a predicate on the fact
EXPECTED = {
    # sshd (sshd -T on the host)
    ("SSH-002", "hardened"): ("fail", {"permitrootlogin": "prohibit-password"}),   # scanned as root
    ("SSH-002", "weak"): ("fail", {"permitrootlogin": "yes"}),
    ("SSH-002", "sudo"): ("pass", {"permitrootlogin": "no"}),                      # scanned as audit + sudo
    ("SSH-003", "hardened"): ("pass", {"macs": lambda v: "sha1" not in v and "umac-64" not in v,
                                       "ciphers": lambda v: "cbc" not in v}),
    ("SSH-003", "weak"): ("fail", {"macs": lambda v: "umac-64@openssh.com" in v.split(",")
                                   and "hmac-sha1" in v.split(",")}),
    ("SSH-004", "hardened"): ("pass", {"maxauthtries": 3, "logingracetime": 30}),
    ("SSH-004", "weak"): ("fail", {"maxauthtries": 6, "logingracetime": 120}),
    ("SSH-005", "hardened"): ("pass", {"clientaliveinterval": 300, "clientalivecountmax": 2}),
    ("SSH-005", "weak"): ("fail", {"clientaliveinterval": 0}),
    ("SSH-006", "hardened"): ("pass", {"effective_forwarding.x11": "no", "effective_forwarding.tcp": "no",
                                       "effective_forwarding.agent": "no"}),
    ("SSH-006", "weak"): ("fail", {"effective_forwarding.x11": "yes"}),
    ("SSH-007", "hardened"): ("pass", {"loglevel": "VERBOSE"}),
    ("SSH-007", "weak"): ("pass", {"loglevel": "INFO"}),                            # OpenSSH's default is fine
    # listening sockets in the host's network namespace
    ("NET-001", "hardened"): ("pass", {"exposed": ["22/tcp"]}),
    ("NET-001", "weak"): ("fail", {"exposed": ["22/tcp", "8080/tcp"],
                                   "exposed_detail": lambda v: "8080/tcp 0.0.0.0 (python3)" in v}),
    # login.defs, useradd -D
    ("ACCT-001", "hardened"): ("pass", {"encrypt_method": "YESCRYPT"}),
    ("ACCT-001", "weak"): ("fail", {"encrypt_method": "MD5"}),
    ("ACCT-007", "hardened"): ("pass", {"pass_max_days": 365}),
    ("ACCT-007", "weak"): ("fail", {"pass_max_days": 99999}),
    ("ACCT-011", "hardened"): ("pass", {"inactive": 30}),
    ("ACCT-011", "weak"): ("fail", {"inactive": -1}),
    ("ACCT-012", "hardened"): ("pass", {"umask": "027"}),
    ("ACCT-012", "weak"): ("fail", {"umask": "022"}),
    # PAM (configuration files; pam_pwquality is not installed, pam_faillock is)
    ("ACCT-005", "hardened"): ("pass", {"faillock.active": True, "faillock.deny": 5, "faillock.unlock_time": 900}),
    ("ACCT-005", "weak"): ("fail", {"faillock.active": False}),
    ("ACCT-006", "hardened"): ("pass", {"pwquality.active": True, "pwquality.minlen": 14}),
    ("ACCT-006", "weak"): ("fail", {"pwquality.active": False}),
    # shadow / passwd (schemes and names only)
    ("ACCT-002", "hardened"): ("pass", {"weak_hash_users": []}),
    ("ACCT-002", "weak"): ("fail", {"weak_hash_users": ["toor"]}),
    ("ACCT-003", "hardened"): ("pass", {"empty_password_users": []}),
    ("ACCT-003", "weak"): ("fail", {"empty_password_users": ["guest"]}),
    ("ACCT-004", "hardened"): ("pass", {"uid0_users": ["root"]}),
    ("ACCT-004", "weak"): ("fail", {"uid0_users": ["root", "toor"]}),
    # sudo
    ("ACCT-008", "hardened"): ("pass", {"nopasswd_principals": []}),
    ("ACCT-008", "weak"): ("fail", {"nopasswd_principals": ["deploy"]}),
    ("ACCT-008", "sudo"): ("pass", {"nopasswd_principals": ["audit"]}),   # allowed by the inventory
    ("ACCT-009", "hardened"): ("pass", {"use_pty": True, "logfile": "/var/log/sudo.log"}),
    ("ACCT-009", "weak"): ("fail", {"logging_configured": False}),
    # files (find over the local filesystems: the machine's root plus the host's overlays)
    ("FILE-001", "hardened"): ("pass", {"world_writable_file_count": 0}),
    ("FILE-001", "weak"): ("fail", {"world_writable_files": ["/etc/hc-lab/shared.conf"]}),
    ("FILE-002", "hardened"): ("pass", {"dirs_without_sticky_count": 0}),
    ("FILE-002", "weak"): ("fail", {"dirs_without_sticky": ["/var/tmp/upload"]}),
    # sysctl, per network namespace: set by the start script and persisted in
    # /etc/sysctl.d/60-hardening.conf on hardened (at_boot: what the next boot sets)
    ("NET-003", "hardened"): ("pass", {"net.ipv4.ip_forward": 0, "net.ipv6.conf.all.forwarding": 0,
                                       "at_boot.net.ipv4.ip_forward": 0}),
    ("NET-003", "weak"): ("fail", {"net.ipv4.ip_forward": 1}),
    ("NET-004", "hardened"): ("pass", {"net.ipv4.conf.all.accept_redirects": 0,
                                       "net.ipv4.conf.all.send_redirects": 0,
                                       "net.ipv6.conf.all.accept_redirects": 0,
                                       "at_boot.net.ipv4.conf.all.accept_redirects": 0}),
    ("NET-004", "weak"): ("fail", {"net.ipv4.conf.all.accept_redirects": 1}),
    ("NET-005", "hardened"): ("pass", {"net.ipv4.conf.all.rp_filter": 1, "net.ipv4.tcp_syncookies": 1,
                                       "at_boot.net.ipv4.conf.all.rp_filter": 1}),
    ("NET-005", "weak"): ("fail", {"net.ipv4.conf.all.rp_filter": 0}),
    # journald, rsyslog
    ("LOG-004", "hardened"): ("pass", {"storage": "persistent", "journal_dir_exists": True}),
    ("LOG-004", "weak"): ("fail", {"storage": "volatile", "journal_dir_exists": False}),
    # rsyslogd is not installed on the lab machine: hardened's forwarding rule is configuration
    # only and (rightly) does not count without a running daemon
    ("LOG-005", "hardened"): ("fail", {"forwarding": False, "rsyslog_active": False}),
    ("LOG-005", "weak"): ("fail", {"forwarding": False, "targets": []}),
    # rotated logs with their ages; the lab's inventory sets the policy to 180..400 days
    ("LOG-006", "hardened"): ("pass", {"rotate": 26, "period": "weekly", "retention_days": 182,
                                       "oldest_rotated": "syslog.26.gz",
                                       "oldest_rotated_age_days": lambda v: 181 <= v <= 183}),
    ("LOG-006", "weak"): ("fail", {"retention_days": 28, "oldest_rotated": "syslog.4.gz"}),
    # backups
    ("BACKUP-001", "hardened"): ("pass", {"newest": "/var/lib/hardencheck/backup/last-success",
                                          "modified_at": lambda v: age_days(v) < 0.2}),
    ("BACKUP-001", "weak"): ("fail", {"modified_at": lambda v: 29.9 < age_days(v) < 30.1}),
    ("BACKUP-002", "hardened"): ("pass", {"result": "success", "date": lambda v: 11.9 < age_days(v) < 12.1}),
    ("BACKUP-002", "weak"): ("fail", {"exists": False, "result": None}),
}


def _check(r, expected_status, facts):
    actual = r.get("actual") or {}
    assert r["status"] == expected_status, f"{r['control']} on {r['host']}: {r['status']} ({r.get('message')})"
    for fact, want in facts.items():
        assert fact in actual, f"{r['control']} on {r['host']}: no `{fact}` in actual {sorted(actual)}"
        if callable(want):
            assert want(actual[fact]), f"{r['control']} on {r['host']}: `{fact}` is {actual[fact]!r}"
        else:
            assert actual[fact] == want, f"{r['control']} on {r['host']}: `{fact}` is {actual[fact]!r}"


@pytest.mark.parametrize("control,host", list(EXPECTED), ids=[f"{c}-{h}" for c, h in EXPECTED])
def test_verdict_and_decisive_fact(library_scan, control, host):
    status, facts = EXPECTED[(control, host)]
    _check(verdict(library_scan, host, control), status, facts)


def test_failures_name_the_lab_state(library_scan):
    """The message of a failing verdict names the offending value, as an auditor reads it."""
    for control, host, words in [
        ("ACCT-001", "weak", "MD5"),
        ("ACCT-004", "weak", "toor"),
        ("ACCT-008", "weak", "deploy"),
        ("NET-001", "weak", "8080/tcp"),
        ("ACCT-003", "weak", "guest"),
        ("BACKUP-001", "weak", "days old"),
    ]:
        r = verdict(library_scan, host, control)
        assert words in r["message"], (control, r["message"])


# state that belongs to the machine (kernel.*/fs.* sysctls, disks, packages, services): the lab's
# hosts share it, so hardened and weak must agree whatever this machine has
MACHINE_WIDE = ["KERN-001", "KERN-002", "KERN-003", "KERN-004", "KERN-005", "KERN-006", "DISK-001",
                "RAID-001", "CRYPT-001", "AVAIL-001", "ACCT-010", "PATCH-002", "SCAN-003", "SCAN-004",
                "TIME-001", "TIME-002", "FILE-003", "FILE-006"]
KERNEL_FACTS = ["KERN-001", "KERN-002", "KERN-004"]


@pytest.mark.parametrize("control", MACHINE_WIDE)
def test_machine_wide_verdicts_agree(library_scan, control):
    by = library_scan[2]
    if control not in by["hardened"]:
        pytest.skip(f"{control} is not in the library")
    h, w = by["hardened"][control], by["weak"][control]
    assert h["status"] == w["status"], (control, h.get("message"), w.get("message"))
    assert h.get("reason") == w.get("reason")
    if control in KERNEL_FACTS:
        assert h["actual"] == w["actual"]


def test_kernel_sysctls_are_the_machines(library_scan):
    """kernel.* values come from the one kernel: the lab cannot (and does not) fake them."""
    r = verdict(library_scan, "hardened", "KERN-001")
    want = int(open("/proc/sys/kernel/randomize_va_space").read())
    assert r["actual"]["kernel.randomize_va_space"] == want
    # and what the next boot sets: only a sysctl file counts (the default depends on the build)
    boot = r["actual"]["at_boot.kernel.randomize_va_space"]
    assert r["status"] == ("pass" if want == 2 and boot == 2 else "fail")


def test_no_probe_errors_on_reachable_hosts(library_scan):
    """Every control runs on the real state without a probe error; the only exception is the
    systemd unit check (the lab's hosts are namespaces without a systemd of their own)."""
    by = library_scan[2]
    for host in ("hardened", "weak", "sudo"):
        errors = {c: r["message"] for c, r in by[host].items() if r["status"] == "error"}
        unexplained = {c: m for c, m in errors.items()
                       if not (c == "AVAIL-003" and re.search(r"systemd is not running", m))}
        assert unexplained == {}, (host, unexplained)


def test_sudo_host_matches_hardened(library_scan):
    """The sudo host carries the hardened state; it is scanned as `audit` with sudo, and differs
    only where that is the point (no root login, the scanner's own NOPASSWD rule)."""
    by = library_scan[2]
    differ = sorted(c for c in by["hardened"] if c in by["sudo"]
                    and by["hardened"][c]["status"] != by["sudo"][c]["status"])
    assert differ == ["SSH-002"], differ
