"""MariaDB replication (AVAIL-004) and MariaDB audit (LOG-009) on real MariaDB servers: one lab of
two hosts (tests/lab/kind_mariadb.py), each running a primary and a replica on Unix sockets, scanned
once over real SSH with the real CLI. mdbgood replicates and audits (server_audit, logging ON);
mdbbad's replica is stopped and its servers run without server_audit."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import lab_unavailable_or_skip, scanned_lab, verdict

pytestmark = pytest.mark.lab

CONTROLS = ["AVAIL-004", "LOG-009"]


@pytest.fixture(scope="module")
def mdb_scan(tmp_path_factory):
    lab_unavailable_or_skip()
    if not (os.path.exists("/usr/sbin/mariadbd") and shutil.which("mariadb-install-db")):
        if os.environ.get("CI") == "true":
            pytest.fail("mariadb-server must be installed in CI (.ci/run installs it)", pytrace=False)
        pytest.skip("mariadb-server is not installed on this machine")
    # start_timeout: each host starts two mariadbd and their replication
    yield from scanned_lab(tmp_path_factory, "mariadb", "m", ["mdbgood", "mdbbad"], CONTROLS, start_timeout=60)


def test_replication_running_passes(mdb_scan):
    _, _, by = mdb_scan
    status, actual, msg = verdict(by, "mdbgood", "AVAIL-004")
    assert status == "pass", msg
    servers = {s["socket"]: s for s in actual["mariadb_servers"]}
    assert sorted(servers) == ["/run/mysqld/primary.sock", "/run/mysqld/replica.sock"]
    primary, replica = servers["/run/mysqld/primary.sock"], servers["/run/mysqld/replica.sock"]
    assert primary["role"] == "primary" and primary["connected_replicas"] == 1
    (conn,) = replica["connections"]
    assert replica["role"] == "replica" and conn["io_running"] == conn["sql_running"] == "Yes"
    assert conn["seconds_behind"] is not None and conn["seconds_behind"] <= 300


def test_stopped_replica_fails(mdb_scan):
    code, _, by = mdb_scan
    status, actual, msg = verdict(by, "mdbbad", "AVAIL-004")
    assert status == "fail", msg
    # the replica names itself; the primary's Binlog Dump thread of the stopped replica may outlive
    # the replica's disconnect for a while, so its count is not asserted here (0 replicas: fixtures)
    assert "MariaDB replica /run/mysqld/replica.sock: IO thread No, SQL thread No" in actual["unhealthy"], msg
    (conn,) = {s["socket"]: s for s in actual["mariadb_servers"]}["/run/mysqld/replica.sock"]["connections"]
    assert conn["io_running"] == conn["sql_running"] == "No" and conn["seconds_behind"] is None
    assert code == 1


def test_server_audit_running_passes(mdb_scan):
    _, _, by = mdb_scan
    status, actual, msg = verdict(by, "mdbgood", "LOG-009")
    assert status == "pass", msg
    running = [d for d in actual["databases"] if d["server"] == "mariadbd (running)"]
    assert sorted(d["config"] for d in running) == ["/run/mysqld/primary.sock", "/run/mysqld/replica.sock"]
    assert all(d["audited"] for d in actual["databases"])


def test_no_server_audit_fails(mdb_scan):
    _, _, by = mdb_scan
    status, actual, msg = verdict(by, "mdbbad", "LOG-009")
    assert status == "fail", msg
    unaudited = actual["unaudited_databases"]
    assert "mariadbd /etc/mysql, /etc/my.cnf*: server_audit plugin is not loaded" in unaudited
    for sock in ("primary", "replica"):
        assert (f"mariadbd (running) /run/mysqld/{sock}.sock: server_audit plugin is not loaded in the "
                "running server") in unaudited


def test_no_password_in_the_bundle(mdb_scan):
    """The probes log in by unix_socket: nothing like a password option reaches the evidence."""
    _, run, _ = mdb_scan
    for f in run.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".jsonl", ".txt", ".html"):
            text = f.read_text(errors="replace")
            assert "--password" not in text and "MYSQL_PWD" not in text, f
