"""db.replication: whether the host's running PostgreSQL servers replicate (a primary has streaming
standbys with a small replay lag, a standby streams from its primary) and its DRBD resources are
connected with both disks UpToDate.

Needs root (it asks each server as the ``postgres`` account through ``runuser``). Running servers
are found by their Unix sockets (``.s.PGSQL.<port>`` in /run/postgresql, /var/run/postgresql,
/tmp); each is asked one read-only query: ``pg_is_in_recovery()``, the number of
``pg_stat_replication`` rows in state ``streaming`` and their largest ``replay_lag`` (seconds),
and the status of ``pg_stat_wal_receiver``. Only these values leave the host (no names, addresses
or queries of clients).

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
    tools = {"servers": ("runuser", "psql"), "drbd": ("drbdadm",)}
    commands = {"servers": _SERVERS, "drbd": _DRBD}

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
        drbd = _drbd(complete_section(out, "drbd", "DRBD state", truncated="DRBD state: output truncated").stdout)
        unhealthy += [f"DRBD {r['resource']}: {r['problem']}" for r in drbd if r["problem"]]
        return {
            "database_running": bool(servers),
            "replication_present": bool(servers) or bool(drbd),
            "drbd": drbd[:50],
            "servers": servers[:50],
            "unhealthy": unhealthy,
            "unanswered": unanswered,
        }


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
