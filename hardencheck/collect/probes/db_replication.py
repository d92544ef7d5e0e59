"""db.replication: whether the host's running PostgreSQL and MariaDB/MySQL servers replicate (a
primary has streaming standbys / connected replicas with a small lag, a standby or replica streams
from its primary) and its DRBD resources are connected with both disks UpToDate.

Needs root (it asks each server as the ``postgres`` account through ``runuser``). Running servers
are found by their Unix sockets (``.s.PGSQL.<port>`` in /run/postgresql, /var/run/postgresql,
/tmp); each is asked one read-only query: ``pg_is_in_recovery()``, the number of
``pg_stat_replication`` rows in state ``streaming`` and their largest ``replay_lag`` (seconds),
and the status of ``pg_stat_wal_receiver``. Only these values leave the host (no names, addresses
or queries of clients).

MariaDB/MySQL: running servers are found by their Unix sockets (``*.sock`` in /run/mysqld,
/var/run/mysqld, /var/lib/mysql and ``/tmp/mysql*.sock``); each is asked as root over the socket
(``unix_socket`` authentication: no password anywhere, client option files ignored) how many
``Binlog Dump`` threads it serves (connected replicas) and ``SHOW ALL SLAVES STATUS`` (MySQL:
``SHOW REPLICA STATUS``). Only the connection name, the IO/SQL thread states, the lag and the last
IO/SQL error of each replication connection leave the host. A server with a replication connection
is a replica, healthy when both threads run (``Yes``) with ``Seconds_Behind_Master`` within
``max_lag_seconds``; any other is a primary, healthy with at least ``min_replicas`` connected replicas.

DRBD: ``/proc/drbd`` (8.x: ``cs:`` connection state and ``ds:`` disk states per minor) or, for DRBD
9 (whose /proc/drbd shows only the version), ``drbdadm status``: a resource is healthy when its own
disk and every peer's disk are UpToDate and every peer connection is Connected/Established.

``min_replicas`` and ``max_lag_seconds`` (parse-only): a primary is healthy with at least
``min_replicas`` streaming standbys whose replay lag is at most ``max_lag_seconds``; a standby is
healthy when its WAL receiver is ``streaming``.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Arg, Probe

QUERY = ("select pg_is_in_recovery(), "
         "(select count(*) from pg_stat_replication where state = 'streaming'), "
         "(select coalesce(max(extract(epoch from replay_lag)), 0) from pg_stat_replication "
         "where state = 'streaming'), "
         "(select coalesce(max(status), '-') from pg_stat_wal_receiver)")
_SERVERS = (
    "seen=' '; for s in /run/postgresql/.s.PGSQL.* /var/run/postgresql/.s.PGSQL.* /tmp/.s.PGSQL.*; do "
    "[ -S \"$s\" ] || continue; port=${s##*.}; case $port in *[!0-9]*|'') continue;; esac; "
    "case $seen in *\" $port \"*) continue;; esac; seen=\"$seen$port \"; "
    "r=$(runuser -u postgres -- psql -XAtq -h \"${s%/*}\" -p \"$port\" -d postgres -c \"$1\" 2>&1 | head -n 3 "
    "| tr -c '[:print:]\\n' '?' | cut -c 1-200); printf 'S %s %s\\n' \"$port\" \"$(printf '%s' \"$r\" | tr '\\n' ' ')\"; "
    "done; exit 0"
)
_DRBD = (
    "[ -r /proc/drbd ] || exit 0; echo '== proc'; head -c 65536 /proc/drbd; "
    "if ! grep -aq ' cs:' /proc/drbd && command -v drbdadm >/dev/null 2>&1; then "
    "echo '== status'; drbdadm status 2>&1 | head -n 400; fi; exit 0"
)
_MARIADB = (
    "c=$(command -v mariadb || command -v mysql); seen=' '; "
    "for s in /run/mysqld/*.sock /var/run/mysqld/*.sock /var/lib/mysql/*.sock /tmp/mysql*.sock; do "
    "[ -S \"$s\" ] || continue; r=$(readlink -f -- \"$s\"); case $seen in *\" $r \"*) continue;; esac; "
    "seen=\"$seen$r \"; printf 'M %s\\n' \"$r\" | tr -c '[:print:]\\n' '?' | head -n 1 | cut -c 1-300; "
    "if [ -z \"$c\" ]; then echo 'E no mariadb or mysql client'; continue; fi; "
    "q() { \"$c\" --no-defaults --protocol=socket --connect-timeout=10 -S \"$r\" -u root -B \"$@\" 2>&1; }; "
    "d=$(q -N -e \"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'\"); "
    "case $d in ''|*[!0-9]*) printf 'E %s\\n' \"$(printf '%s' \"$d\" | head -n 2 | tr -c '[:print:]' ' ' | cut -c 1-200)\"; "
    "continue;; esac; printf 'D %s\\n' \"$d\"; "
    "st=$(q -e 'SHOW ALL SLAVES STATUS\\G') || st=$(q -e 'SHOW REPLICA STATUS\\G') || "
    "{ printf 'E %s\\n' \"$(printf '%s' \"$st\" | head -n 2 | tr -c '[:print:]' ' ' | cut -c 1-200)\"; continue; }; "
    "printf '%s\\n' \"$st\" | grep -aE '^ *([*]+ [0-9]+[.] row [*]+|(Connection_name|Channel_Name|(Slave|Replica)_(IO|SQL)_Running"
    "|Seconds_Behind_(Master|Source)|Last_(IO|SQL)_Error):.*)$' | head -n 2000 | tr -c '[:print:]\\n' '?' "
    "| cut -c 1-240 | sed -E 's/^ +//; s/^/R /'; done; exit 0"
)
_ROW = re.compile(r"^([tf])\|([0-9]{1,6})\|([0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)\|([a-z_-]{1,30})\s*$")


class DbReplication(Probe):
    name = "db.replication"
    summary = ("Replication of the running PostgreSQL and MariaDB/MySQL servers (standbys/replicas "
               "streaming within the lag limit, a primary with enough of them) and of DRBD resources")
    timeout = 60
    args = {
        "query": Arg("str_list", default=[QUERY], remote=True, doc="(fixed) the one read-only query"),
        "min_replicas": Arg("int", default=1, doc="streaming standbys a primary must have"),
        "max_lag_seconds": Arg("int", default=300, doc="largest replay lag of a standby"),
    }
    tools = {"servers": ("runuser", "psql"), "mariadb": ("mariadb", "mysql"), "drbd": ("drbdadm",)}
    commands = {"servers": _SERVERS, "mariadb": _MARIADB, "drbd": _DRBD}

    @classmethod
    def resolve_args(cls, given):
        args = super().resolve_args(given)
        if args.get("query") != [QUERY]:
            raise ValueError("argument 'query' is fixed; it cannot be changed")
        return args

    def parse(self, out, args):
        sec = complete_section(out, "servers", "PostgreSQL servers", ran="psql (as postgres)")
        need, max_lag = args.get("min_replicas", 1), args.get("max_lag_seconds", 300)
        servers = []
        for line in sec.stdout.splitlines():
            m = re.match(r"^S ([0-9]{1,5}) (.*)$", line)
            if not m:
                raise ProbeError("unparsable", f"PostgreSQL servers: unexpected line {clean(line, 60)!r}")
            port, answer = m.group(1), m.group(2).strip()
            row = _ROW.match(answer)
            if not row:
                # a server that did not answer the query cannot be judged: name it, never guess
                servers.append({"port": int(port), "role": None, "streaming_replicas": None,
                                "max_replay_lag_seconds": None, "receiver": None,
                                "problem": clean(answer, 160) or "no answer"})
                continue
            standby = row.group(1) == "t"
            servers.append({"port": int(port), "role": "standby" if standby else "primary",
                            "streaming_replicas": int(row.group(2)),
                            "max_replay_lag_seconds": round(float(row.group(3)), 3),
                            "receiver": row.group(4), "problem": None})
        unhealthy, unanswered = [], []
        for s in servers:
            if s["role"] is None:
                unanswered.append(f"port {s['port']}: {s['problem']}")
            elif s["role"] == "standby" and s["receiver"] != "streaming":
                unhealthy.append(f"standby on port {s['port']}: WAL receiver {s['receiver']}, not streaming")
            elif s["role"] == "primary" and s["streaming_replicas"] < need:
                unhealthy.append(f"primary on port {s['port']}: {s['streaming_replicas']} streaming "
                                 f"standby(s), at least {need} required")
            elif s["role"] == "primary" and s["max_replay_lag_seconds"] > max_lag:
                unhealthy.append(f"primary on port {s['port']}: replay lag {s['max_replay_lag_seconds']} s, "
                                 f"at most {max_lag} s")
        maria = _mariadb(complete_section(out, "mariadb", "MariaDB/MySQL servers", ran="mariadb (as root)").stdout)
        for m in maria:
            bad, answer = _judge_mariadb(m, need, max_lag)
            unhealthy += bad
            unanswered += answer
        drbd = _drbd(complete_section(out, "drbd", "DRBD state", truncated="DRBD state: output truncated").stdout)
        unhealthy += [f"DRBD {r['resource']}: {r['problem']}" for r in drbd if r["problem"]]
        return {
            "database_running": bool(servers) or bool(maria),
            "replication_present": bool(servers) or bool(maria) or bool(drbd),
            "drbd": drbd[:50],
            "servers": servers[:50],
            "mariadb_servers": maria[:50],
            "unhealthy": unhealthy,
            "unanswered": unanswered,
        }


_FIELDS = {"Connection_name": "name", "Channel_Name": "name", "Slave_IO_Running": "io_running",
           "Replica_IO_Running": "io_running", "Slave_SQL_Running": "sql_running",
           "Replica_SQL_Running": "sql_running", "Seconds_Behind_Master": "seconds_behind",
           "Seconds_Behind_Source": "seconds_behind", "Last_IO_Error": "last_io_error",
           "Last_SQL_Error": "last_sql_error"}


def _mariadb(text: str) -> list[dict]:
    """The MariaDB/MySQL servers of the ``M``/``D``/``E``/``R`` lines: socket, connected replicas,
    replication connections (one per ``row`` of SHOW ALL SLAVES STATUS), or the problem."""
    servers: list[dict] = []
    cur, chan, seen = None, None, set()
    for line in text.splitlines():
        kind, _, body = line.partition(" ")
        if kind == "M" and body.startswith("/"):
            cur, chan = {"socket": clean(body, 200), "role": None, "connected_replicas": None,
                         "connections": [], "problem": None}, None
            servers.append(cur)
            continue
        if cur is None:
            raise ProbeError("unparsable", f"MariaDB servers: unexpected line {clean(line, 60)!r}")
        if kind == "E":
            cur["problem"] = clean(body, 160) or "no answer"
        elif kind == "D" and re.fullmatch(r"[0-9]{1,6}", body):
            cur["connected_replicas"] = int(body)
        elif kind == "R" and re.fullmatch(r"\*+ [0-9]+\. row \*+", body):
            chan = {"name": "", "io_running": None, "sql_running": None, "seconds_behind": None,
                    "last_io_error": "", "last_sql_error": ""}
            cur["connections"].append(chan)
            seen = set()
        elif kind == "R" and chan is not None and ":" in body:
            key, _, value = body.partition(":")
            field = _FIELDS.get(key.strip())
            if field is None or field in seen:   # a forged line inside an error text, or unknown
                raise ProbeError("unparsable", f"MariaDB servers: unexpected field {clean(key, 40)!r}")
            seen.add(field)
            value = value.strip()
            if field == "seconds_behind":
                chan[field] = int(value) if re.fullmatch(r"[0-9]{1,10}", value) else None
            else:
                chan[field] = clean(value, 160 if field.startswith("last_") else 64)
        else:
            raise ProbeError("unparsable", f"MariaDB servers: unexpected line {clean(line, 60)!r}")
    for s in servers:
        if s["problem"] is None and s["connected_replicas"] is None:
            s["problem"] = "no answer"
        if s["problem"] is None:
            s["role"] = "replica" if s["connections"] else "primary"
        s["connections"] = s["connections"][:20]
    return servers


def _judge_mariadb(s: dict, need: int, max_lag: int) -> tuple[list[str], list[str]]:
    """(unhealthy, unanswered) messages for one MariaDB/MySQL server."""
    where = f"MariaDB {s['role'] or 'server'} {s['socket']}"
    if s["role"] is None:
        return [], [f"{where}: {s['problem']}"]
    if s["role"] == "primary":
        n = s["connected_replicas"]
        return ([f"{where}: {n} connected replica(s), at least {need} required"] if n < need else []), []
    bad = []
    for c in s["connections"]:
        label = where + (f" connection {c['name']!r}" if c["name"] else "")
        if c["io_running"] != "Yes" or c["sql_running"] != "Yes":
            err = "; ".join(e for e in (c["last_io_error"], c["last_sql_error"]) if e)
            bad.append(f"{label}: IO thread {c['io_running']}, SQL thread {c['sql_running']}"
                       + (f" ({clean(err, 160)})" if err else ""))
        elif c["seconds_behind"] is None:
            bad.append(f"{label}: lag unknown (Seconds_Behind_Master is NULL)")
        elif c["seconds_behind"] > max_lag:
            bad.append(f"{label}: {c['seconds_behind']} s behind, at most {max_lag} s")
    return bad, []


def _drbd(text: str) -> list[dict]:
    """Resources of /proc/drbd (8.x) or ``drbdadm status`` (9): state and the problem, if any."""
    if not text.strip():
        return []
    part, out, cur = None, [], None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line in ("== proc", "== status"):
            part = line[3:]
            continue
        if part == "proc":
            m = re.match(r"^\s*([0-9]{1,5}): cs:(\S+) ro:(\S+) ds:(\S+)", line)
            if m:
                disks = m.group(4).split("/")
                ok = m.group(2) == "Connected" and all(d == "UpToDate" for d in disks)
                out.append({"resource": f"minor {m.group(1)}", "connection": clean(m.group(2), 30),
                            "disks": clean(m.group(4), 60),
                            "problem": None if ok else clean(f"connection {m.group(2)}, disks {m.group(4)}", 120)})
        elif part == "status":
            if re.match(r"^[A-Za-z0-9_.-]+ role:", line):
                cur = {"resource": clean(line.split()[0], 60), "connection": None, "disks": [], "peers": 0,
                       "bad": []}
                out.append(cur)
                continue
            if cur is None or not line.strip():
                continue
            for key, value in re.findall(r"([a-z-]+):(\S+)", line):
                if key in ("disk", "peer-disk"):
                    cur["disks"].append(value)
                    if value != "UpToDate":
                        cur["bad"].append(f"{key} {value}")
                elif key in ("connection", "replication"):
                    if value not in ("Connected", "Established"):
                        cur["bad"].append(f"{key} {value}")
            if re.match(r"^  \S+ (role|connection):", line):
                cur["peers"] += 1
        elif line.strip() and part is None:
            raise ProbeError("unparsable", f"DRBD state: unexpected line {clean(line, 60)!r}")
    for r in out:
        if "bad" in r:
            bad = r.pop("bad")
            if r.pop("peers") == 0:
                bad.append("no peer")
            r["disks"] = clean("/".join(r["disks"]), 60)
            r["problem"] = clean(", ".join(bad), 160) or None
    return out
