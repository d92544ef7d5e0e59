"""Lab host kinds for MariaDB replication and MariaDB audit (AVAIL-004, LOG-009), where this machine
has MariaDB installed (``mariadb-server``; the lab hosts share /usr). Both are hardened hosts that,
at host start, make a MariaDB primary and a replica in the host's own /tmp (``mariadb-install-db``
once, the replica a copy of it): two ``mariadbd`` as user mysql, each on its Unix socket
(/run/mysqld/primary.sock, /run/mysqld/replica.sock). The replica streams from the primary with
GTID; MariaDB's replication client always connects over TCP, so the primary also listens on
127.0.0.1:3306 inside the host's own network namespace (the replica has no TCP listener; the
replication account ``repl@127.0.0.1`` has no password and nothing but REPLICATION SLAVE).

mdbgood: replication running (the start waits until both replica threads run);
  /etc/mysql/mariadb.conf.d/60-audit.cnf loads server_audit with server_audit_logging = ON, and
  both servers read it (their option files include it), so the config and the running servers agree.
  Where this machine has a PostgreSQL cluster configured (its /etc/postgresql is every host's),
  conf.d/pgaudit.conf loads pgaudit (configuration only), so LOG-009 is decided by MariaDB.
mdbbad: the same, then ``STOP SLAVE`` on the replica (both threads stopped, so the primary has no
  connected replica either); no audit configuration, so the servers run without server_audit.
"""

from __future__ import annotations

from pathlib import Path

from .lab import ExtraKind, register_kind

MARIADBD = Path("/usr/sbin/mariadbd")
AUDIT_CNF = "/etc/mysql/mariadb.conf.d/60-audit.cnf"
AUDIT = "[mariadbd]\nplugin_load_add = server_audit\nserver_audit_logging = ON\nserver_audit_events = CONNECT,QUERY_DML,QUERY_DDL\n"
BASE = "/tmp/hc-mdb"

SERVER_CNF = """[mariadbd]
user = mysql
datadir = {base}/{role}
socket = /run/mysqld/{role}.sock
pid-file = {base}/{role}.pid
log-error = {base}/{role}.err
server-id = {sid}
{net}
innodb-buffer-pool-size = 8M
innodb-log-file-size = 8M
performance-schema = OFF
skip-name-resolve
"""

#: the start: one datadir made and copied, both servers started, the replica attached (waits for
#: both replica threads, at most 20 s each); set -e of the lab's start script stops the host on failure
START = r"""set -e
B={base}
mkdir -p /run/mysqld $B && chown mysql:mysql /run/mysqld $B
mariadb-install-db --no-defaults --user=mysql --datadir=$B/primary --auth-root-authentication-method=socket \
  --skip-test-db >$B/install.log 2>&1
cp -a $B/primary $B/replica
for r in primary replica; do
  mariadbd --defaults-file=/etc/hc-mdb/$r.cnf </dev/null >/dev/null 2>&1 &
done
q() {{ mariadb --no-defaults -S /run/mysqld/$1.sock -u root -B -e "$2"; }}
i=0; until q primary 'SELECT 1' >/dev/null 2>&1 && q replica 'SELECT 1' >/dev/null 2>&1; do
  i=$((i+1)); [ $i -lt 200 ] || {{ echo "mariadbd did not start" >&2; exit 1; }}; sleep 0.1; done
q primary "CREATE USER 'repl'@'127.0.0.1'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'"
q replica "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=3306, MASTER_USER='repl', MASTER_USE_GTID=slave_pos; START SLAVE"
i=0; until [ "$(q replica 'SHOW ALL SLAVES STATUS\G' | grep -c '_Running: Yes')" = 2 ]; do
  i=$((i+1)); [ $i -lt 200 ] || {{ echo "the replica does not replicate:" >&2
  q replica 'SHOW ALL SLAVES STATUS\G' | grep -E 'Running:|Last_(IO|SQL)_Error' >&2; exit 1; }}; sleep 0.1; done
q primary "CREATE DATABASE shop; CREATE TABLE shop.customer (id INT PRIMARY KEY, name VARCHAR(40)); INSERT INTO shop.customer VALUES (1, 'lab')"
{after}"""


def _prepare(bad: bool):
    def prepare(host, dirs):
        if not MARIADBD.exists():
            return ""
        etc = dirs["etc"]
        if not bad:
            for conf in Path("/etc/postgresql").glob("*/*/postgresql.conf"):
                pga = etc / conf.parent.relative_to("/etc") / "conf.d" / "pgaudit.conf"
                pga.parent.mkdir(parents=True, exist_ok=True)
                pga.write_text("shared_preload_libraries = 'pgaudit'\npgaudit.log = 'read, write, ddl'\n")
            (etc / AUDIT_CNF.removeprefix("/etc/")).parent.mkdir(parents=True, exist_ok=True)
            (etc / AUDIT_CNF.removeprefix("/etc/")).write_text(AUDIT)
        d = etc / "hc-mdb"
        d.mkdir(parents=True, exist_ok=True)
        for sid, role, net in ((1, "primary", f"bind-address = 127.0.0.1\nport = 3306\nlog-bin = {BASE}/primary/binlog"),
                               (2, "replica", "skip-networking")):
            text = SERVER_CNF.format(base=BASE, role=role, sid=sid, net=net)
            if not bad:
                text += f"!include {AUDIT_CNF}\n"
            (d / f"{role}.cnf").write_text(text)
        after = "q replica 'STOP SLAVE'\n" if bad else ""
        (d / "start.sh").write_text(START.format(base=BASE, after=after))
        return "sh /etc/hc-mdb/start.sh\n"
    return prepare


register_kind("mdbgood", ExtraKind(prepare=_prepare(False)))
register_kind("mdbbad", ExtraKind(prepare=_prepare(True)))
