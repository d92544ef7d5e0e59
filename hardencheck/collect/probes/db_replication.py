"""db.replication: whether the host's running PostgreSQL servers replicate: a primary has streaming
standbys with a small replay lag, a standby streams from its primary.

Needs root (it asks each server as the ``postgres`` account through ``runuser``). Running servers
are found by their Unix sockets (``.s.PGSQL.<port>`` in /run/postgresql, /var/run/postgresql,
/tmp); each is asked one read-only query: ``pg_is_in_recovery()``, the number of
``pg_stat_replication`` rows in state ``streaming`` and their largest ``replay_lag`` (seconds),
and the status of ``pg_stat_wal_receiver``. Only these values leave the host (no names, addresses
or queries of clients).

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
_ROW = re.compile(r"^([tf])\|([0-9]{1,6})\|([0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)\|([a-z_-]{1,30})\s*$")


class DbReplication(Probe):
    name = "db.replication"
    summary = ("PostgreSQL replication of the running servers: streaming standbys and replay lag on a "
               "primary, a streaming WAL receiver on a standby")
    timeout = 60
    args = {
        "query": Arg("str_list", default=[QUERY], remote=True, doc="(fixed) the one read-only query"),
        "min_replicas": Arg("int", default=1, doc="streaming standbys a primary must have"),
        "max_lag_seconds": Arg("int", default=300, doc="largest replay lag of a standby"),
    }
    tools = {"servers": ("runuser", "psql")}
    commands = {"servers": _SERVERS}

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
        return {
            "database_running": bool(servers),
            "servers": servers[:50],
            "unhealthy": unhealthy,
            "unanswered": unanswered,
        }
