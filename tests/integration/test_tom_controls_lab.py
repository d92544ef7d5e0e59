"""The controls real TOMs promise (issue 17), each passing on the lab host that keeps the promise
(``tomgood``) and failing on the one that breaks it (``tombad``), over real SSH with the real CLI
(host state: tests/lab/kind_tomcontrols.py). Also: the passwords planted in the backup job files
never reach the run bundle."""

from __future__ import annotations

import glob

import pytest

from tests.conftest import lab_unavailable_or_skip, scanned_lab, verdict

pytestmark = pytest.mark.lab

CONTROLS = ["ACCT-013", "ACCT-014", "BACKUP-003", "LOG-008", "LOG-009", "SSH-008", "ACCT-015", "NET-009", "BACKUP-004", "BACKUP-005", "NET-010", "NET-011", "FW-002", "AVAIL-004"]
HAS_POSTGRES = bool(glob.glob("/usr/lib/postgresql/*/bin/postgres")) and bool(
    glob.glob("/etc/postgresql/*/*/postgresql.conf"))
CAN_REPLICATE = bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
HAS_MARIADB = bool(glob.glob("/usr/sbin/mariadbd")) and bool(glob.glob("/etc/mysql"))   # .ci/run installs it


@pytest.fixture(scope="module")
def tom_scan(tmp_path_factory):
    lab_unavailable_or_skip()
    yield from scanned_lab(tmp_path_factory, "tomcontrols", "t", ["tomgood", "tombad"], CONTROLS)


def test_privileged_access_roster(tom_scan):
    _, _, by = tom_scan
    status, actual, _ = verdict(by, "tomgood", "ACCT-013")
    assert status == "pass" and actual["privileged_accounts"] == ["alice", "root"]
    status, actual, msg = verdict(by, "tombad", "ACCT-013")
    assert status == "fail", msg
    assert actual["privileged_accounts"] == ["alice", "bob", "carol", "root"]   # bob by group, carol by alias
    status, _, msg = verdict(by, "tomgood", "ACCT-014")
    assert status == "pass", msg
    status, actual, msg = verdict(by, "tombad", "ACCT-014")
    assert status == "fail", msg
    assert len(actual["shared_keys"]) == 1 and actual["shared_keys"][0].endswith(": alice, carol")
    assert sum(k.startswith("carol ") for k in actual["keys"]) == 2


def test_backups_off_host_and_encrypted(tom_scan):
    _, run, by = tom_scan
    status, _, msg = verdict(by, "tomgood", "BACKUP-003")
    assert status == "pass", msg
    status, actual, msg = verdict(by, "tombad", "BACKUP-003")
    assert status == "fail", msg
    assert actual["local_jobs"] == ["/etc/restic/local.env: /srv/restic-repo"]
    assert [u.split(":")[0] for u in actual["unencrypted_jobs"]] == ["/etc/borgmatic/config.yaml",
                                                                      "/etc/duply/offsite/conf"]
    from tests.lab.kind_tomcontrols import PLANTED
    for f in run.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not any(p.encode() in data for p in PLANTED), f"a planted password is in {f}"


def test_audit_of_data_access(tom_scan):
    _, _, by = tom_scan
    # auditd's rules are kernel-wide, so it cannot differ per lab host: outside tests/test_lab_auditd.py
    # (which proves LOG-008's pass and fail with a real auditd) it is installed (.ci/run) or not, but not
    # running and without a watch: both fail, naming why
    for host in ("tomgood", "tombad"):
        status, actual, msg = verdict(by, host, "LOG-008")
        assert status == "fail" and actual["auditd_active"] is False, msg
        assert actual["unwatched_data_paths"] == ["/srv/customer-data"], msg
    if not HAS_POSTGRES and not HAS_MARIADB:
        for host in ("tomgood", "tombad"):
            assert verdict(by, host, "LOG-009")[0] == "not_applicable"
        pytest.skip("no PostgreSQL or MariaDB on this machine: LOG-009 pass/fail shown on fixtures only")
    status, _, msg = verdict(by, "tomgood", "LOG-009")
    assert status == "pass", msg
    status, actual, msg = verdict(by, "tombad", "LOG-009")
    assert status == "fail", msg
    if HAS_POSTGRES:
        assert "pgaudit.log is none" in actual["unaudited_databases"][0], msg
    if HAS_MARIADB:
        assert "mariadbd /etc/mysql, /etc/my.cnf*: server_audit plugin is not loaded" in actual["unaudited_databases"]


def test_two_factor_for_ssh_and_sudo(tom_scan):
    _, _, by = tom_scan
    for control in ("SSH-008", "ACCT-015"):
        status, _, msg = verdict(by, "tomgood", control)
        assert status == "pass", (control, msg)
    status, actual, msg = verdict(by, "tombad", "SSH-008")
    assert status == "fail" and actual["ssh_two_factor"] is False, msg
    assert actual["match_exemptions"] and actual["match_exemptions"][0].startswith("Match Address 198.18.")
    status, actual, msg = verdict(by, "tombad", "ACCT-015")
    assert status == "fail" and actual["sudo_two_factor"] is False, msg


def test_every_listener_speaks_tls_or_ssh(tom_scan):
    _, _, by = tom_scan
    status, actual, msg = verdict(by, "tomgood", "NET-009")
    assert status == "pass" and actual["unencrypted_ports"] == [], msg
    status, actual, msg = verdict(by, "tombad", "NET-009")
    assert status == "fail", msg
    assert sorted(actual["unencrypted_ports"]) == ["2525/tcp", "8080/tcp"]
    assert any("SMTP without STARTTLS" in u for u in actual["unencrypted"]), actual


def test_restore_within_recovery_time(tom_scan):
    _, _, by = tom_scan
    status, actual, msg = verdict(by, "tomgood", "BACKUP-004")
    assert status == "pass" and actual["duration_seconds"] == 812, msg
    status, actual, msg = verdict(by, "tombad", "BACKUP-004")
    assert status == "fail" and actual["duration_seconds"] == 6 * 3600, msg


def test_backup_cadence_per_job(tom_scan):
    """Two jobs with their own intervals: on tombad the 5-hour-old hourly marker is overdue while
    the daily job, just as old, is within its 26 hours."""
    _, _, by = tom_scan
    status, actual, msg = verdict(by, "tomgood", "BACKUP-005")
    assert status == "pass", msg
    status, actual, msg = verdict(by, "tombad", "BACKUP-005")
    assert status == "fail", msg
    assert [o.split(":")[0] for o in actual["overdue_jobs"]] == ["hourly"]
    assert {j["name"]: j["state"] for j in actual["jobs"]} == {"hourly": "overdue", "daily": "ok"}


def test_vpn_and_internal_services(tom_scan):
    _, _, by = tom_scan
    # no WireGuard in this machine's kernel: the configured tunnel is down on both hosts
    for host in ("tomgood", "tombad"):
        status, actual, msg = verdict(by, host, "NET-010")
        assert status == "fail" and actual["vpn_up"] is False, msg
    status, actual, msg = verdict(by, "tomgood", "NET-011")
    assert status == "pass", msg
    status, actual, msg = verdict(by, "tombad", "NET-011")
    assert status == "fail" and actual["exposed_internal"] == ["5432/tcp on 0.0.0.0 (every address)"], msg


def test_egress_default_deny(tom_scan):
    _, _, by = tom_scan
    status, actual, msg = verdict(by, "tomgood", "FW-002")
    assert status == "pass" and actual["output_chains"][0]["policy"] == "drop", msg
    status, actual, msg = verdict(by, "tombad", "FW-002")
    assert status == "fail" and actual["output_chains"] == [], msg


def test_database_replication(tom_scan):
    _, _, by = tom_scan
    if not CAN_REPLICATE:
        for host in ("tomgood", "tombad"):
            assert verdict(by, host, "AVAIL-004")[0] == "not_applicable"
        pytest.skip("no PostgreSQL server binaries on this machine: AVAIL-004 shown on fixtures only")
    status, actual, msg = verdict(by, "tomgood", "AVAIL-004")
    assert status == "pass", msg
    assert sorted(s["role"] for s in actual["servers"]) == ["primary", "standby"]
    status, actual, msg = verdict(by, "tombad", "AVAIL-004")
    assert status == "fail" and "0 streaming standby(s)" in actual["unhealthy"][0], msg
