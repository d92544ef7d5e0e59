"""audit.data_access: whether access to personal data is recorded - auditd watches on the data paths
(the rules the kernel has loaded, ``auditctl -l``), and the audit extension of a database server
installed on the host (PostgreSQL pgaudit, MariaDB server_audit, MySQL/Percona audit_log).

Needs root. What leaves the host: auditd's state and its rule lines; of the database server
configuration files only the lines that set ``shared_preload_libraries``, ``pgaudit.*``,
``data_directory`` (PostgreSQL) or ``plugin[-_]load[-_add]``, ``server[-_]audit*``/``audit[-_]log*``
(MariaDB/MySQL), each with its file; of each running MariaDB/MySQL server its socket path, its
``server_audit_logging`` value and its audit plugins' status.

PostgreSQL: each cluster's postgresql.conf (Debian ``/etc/postgresql/*/*``, RHEL
``/var/lib/pgsql[/*]/data``), then its ``conf.d/*.conf``, then ``postgresql.auto.conf`` in the data
directory; the last setting wins, as the server reads them. Audited: ``pgaudit`` in
shared_preload_libraries and ``pgaudit.log`` set to something other than ``none``.
MariaDB: audited when ``server_audit`` is loaded and ``server_audit_logging`` is on (or the
``audit_log`` plugin is loaded: MySQL Enterprise/Percona), in the configuration files and in every
running server too: each server found by its Unix socket (/run/mysqld, /var/run/mysqld,
/var/lib/mysql, ``/tmp/mysql*.sock``) is asked, as root over the socket (``unix_socket``
authentication, no password, client option files ignored), for its ``server_audit_logging``
variable and the status of its audit plugins; a running server without them is not audited
whatever its files say (a changed file without a restart), and one that does not answer is named.
A server counts as installed when its binary exists. ``data_paths`` (parse-only): paths whose reads
and writes must be watched (a watch on a directory covers what is below it).
"""

from __future__ import annotations

import re
import shlex

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_ABSENT"
_RULES = (
    "if ! command -v auditctl >/dev/null 2>&1; then echo HC_NO_AUDITCTL; exit 0; fi; "
    "if pidof auditd >/dev/null 2>&1; then echo 'HC auditd active'; else echo 'HC auditd inactive'; fi; "
    "auditctl -s 2>/dev/null | sed -n 's/^enabled \\([0-9][0-9]*\\)$/HC enabled \\1/p'; "
    "auditctl -l"
)
_PG = (
    "found=; for b in /usr/lib/postgresql/*/bin/postgres /usr/pgsql-*/bin/postgres /usr/bin/postgres; do "
    f"[ -x \"$b\" ] && found=1; done; [ -n \"$found\" ] || {{ echo {ABSENT}; exit 0; }}; "
    "keys='^[[:space:]]*(shared_preload_libraries|pgaudit\\.[a-z_]+|data_directory)[[:space:]]*=?'; "
    "for c in /etc/postgresql/*/*/postgresql.conf /var/lib/pgsql/data/postgresql.conf "
    "/var/lib/pgsql/*/data/postgresql.conf; do [ -f \"$c\" ] || continue; "
    "[ -r \"$c\" ] || { echo \"$c: Permission denied\" >&2; exit 13; }; echo \"C $c\"; "
    "d=${c%/postgresql.conf}; dd=$(sed -n -E \"s/^[[:space:]]*data_directory[[:space:]]*=?[[:space:]]*'([^']*)'.*/\\1/p\" \"$c\" | tail -n 1); "
    "[ -n \"$dd\" ] || dd=$d; for f in \"$c\" \"$d\"/conf.d/*.conf \"$dd/postgresql.auto.conf\"; do "
    "[ -f \"$f\" ] || continue; [ -r \"$f\" ] || { echo \"$f: Permission denied\" >&2; exit 13; }; "
    "grep -aE \"$keys\" \"$f\" | head -n 50 | sed \"s|^|K $f |\"; done; done; exit 0"
)
_MARIA = (
    "found=; for b in /usr/sbin/mariadbd /usr/sbin/mysqld /usr/libexec/mysqld /usr/libexec/mariadbd; do "
    f"[ -z \"$found\" ] && [ -x \"$b\" ] && found=${{b##*/}}; done; [ -n \"$found\" ] || {{ echo {ABSENT}; exit 0; }}; "
    "echo \"D $found\"; for f in /etc/mysql/my.cnf /etc/mysql/mariadb.cnf /etc/mysql/conf.d/*.cnf "
    "/etc/mysql/mariadb.conf.d/*.cnf /etc/my.cnf /etc/my.cnf.d/*.cnf; do [ -f \"$f\" ] || continue; "
    "[ -r \"$f\" ] || { echo \"$f: Permission denied\" >&2; exit 13; }; "
    "grep -aiE '^[[:space:]]*(plugin[-_]load([-_]add)?|server[-_]audit[-_a-z]*|audit[-_]log[-_a-z]*)[[:space:]]*(=|$)' \"$f\" "
    "| head -n 50 | sed \"s|^|K $f |\"; done; exit 0"
)
_MARIA_LIVE = (
    "c=$(command -v mariadb || command -v mysql); seen=' '; "
    "for s in /run/mysqld/*.sock /var/run/mysqld/*.sock /var/lib/mysql/*.sock /tmp/mysql*.sock; do "
    "[ -S \"$s\" ] || continue; r=$(readlink -f -- \"$s\"); case $seen in *\" $r \"*) continue;; esac; "
    "seen=\"$seen$r \"; printf 'M %s\\n' \"$r\" | tr -c '[:print:]\\n' '?' | head -n 1 | cut -c 1-300; "
    "if [ -z \"$c\" ]; then echo 'E no mariadb or mysql client'; continue; fi; "
    "if v=$(\"$c\" --no-defaults --protocol=socket --connect-timeout=10 -S \"$r\" -u root -N -B -e "
    "\"SHOW GLOBAL VARIABLES LIKE 'server_audit_logging'; SELECT PLUGIN_NAME, PLUGIN_STATUS FROM "
    "information_schema.PLUGINS WHERE PLUGIN_NAME IN ('SERVER_AUDIT', 'audit_log')\" 2>&1); then "
    "printf '%s\\n' \"$v\" | head -n 10 | tr -c '[:print:]\\t\\n' '?' | cut -c 1-100 | sed 's/^/V /'; "
    "else printf 'E %s\\n' \"$(printf '%s' \"$v\" | head -n 2 | tr -c '[:print:]' ' ' | cut -c 1-200)\"; fi; done; exit 0"
)
_PG_KV = re.compile(r"^\s*([a-z_.]+)\s*=?\s*(?:'((?:[^']|'')*)'|([^\s#]*))")


def _covers(watched: str, wanted: str) -> bool:
    w = watched.rstrip("/") or "/"
    return wanted == w or wanted.startswith(w.rstrip("/") + "/")


class AuditDataAccess(Probe):
    name = "audit.data_access"
    summary = ("Audit of data access: auditd watches (read and write) on the data paths; pgaudit / "
               "MariaDB server_audit where a database server is installed")
    timeout = 30
    max_output_bytes = 512 * 1024
    args = {
        "data_paths": Arg("path_list", default=[], doc="paths holding personal data (reads and writes audited)"),
    }
    tools = {"rules": ("auditctl", "pidof"), "mariadb_live": ("mariadb", "mysql")}
    commands = {"rules": _RULES, "postgresql": _PG, "mariadb": _MARIA, "mariadb_live": _MARIA_LIVE}

    def parse(self, out, args):
        wanted = list(args.get("data_paths") or [])
        rs = complete_section(out, "rules", "auditctl -l", truncated="auditctl -l: output was truncated")
        lines = rs.stdout.splitlines()
        installed = not (lines and lines[0].strip() == "HC_NO_AUDITCTL")
        active, watches, enabled = False, [], None
        if installed:
            if not lines or lines[0] not in ("HC auditd active", "HC auditd inactive"):
                raise ProbeError("unparsable", "auditctl: no auditd state line")
            active = lines[0] == "HC auditd active"
            rest = lines[1:]
            if rest and rest[0].startswith("HC enabled "):
                # the kernel's switch (auditctl -e): 0 records nothing, whatever rules are loaded
                flag = rest.pop(0)[len("HC enabled "):].strip()
                if not flag.isdigit():
                    raise ProbeError("unparsable", f"auditctl -s: unexpected enabled value {clean(flag, 20)!r}")
                enabled = int(flag) in (1, 2)
            for raw in rest:
                line = raw.strip()
                if not line or line == "No rules":
                    continue
                if not line.startswith("-"):
                    raise ProbeError("unparsable", f"auditctl -l: unexpected line {clean(line, 80)!r}")
                w = _watch(line)
                if w:
                    watches.append(w)
        unwatched = [p for p in wanted
                     if not any(_covers(path, p) and "r" in perms and "w" in perms for path, perms in watches)]
        pg = _postgresql(complete_section(out, "postgresql", "PostgreSQL configuration",
                                          refused=lambda s: clean(s.stderr, 160) or "not readable").stdout)
        maria = _mariadb(complete_section(out, "mariadb", "MariaDB configuration",
                                          refused=lambda s: clean(s.stderr, 160) or "not readable").stdout)
        live, unanswered = _mariadb_live(complete_section(out, "mariadb_live", "running MariaDB servers",
                                                          ran="mariadb (as root)").stdout)
        databases = pg + maria + live
        return {
            "data_paths_given": bool(wanted),
            "data_paths": wanted,
            "auditd_installed": installed,
            "auditd_active": active,
            "audit_enabled": enabled,
            "watches": [f"{p} {perms}" for p, perms in watches][:200],
            "unwatched_data_paths": unwatched,
            "database_present": bool(databases),
            "databases": databases,
            "unaudited_databases": [f"{d['server']} {d['config']}: {d['why']}" for d in databases
                                    if not d["audited"]],
            "unanswered_databases": unanswered,
        }


def _watch(line: str) -> tuple[str, str] | None:
    """(path, permissions) a rule watches, or None; permissions default to rwxa like auditctl's."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    path, perms = None, "rwxa"
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w == "-w":
            path = nxt
        elif w == "-p":
            perms = nxt
        elif w == "-F" and nxt.startswith(("path=", "dir=")):
            path = nxt.split("=", 1)[1]
        elif w == "-F" and nxt.startswith("perm="):
            perms = nxt.split("=", 1)[1]
    if not path or not path.startswith("/"):
        return None
    return clean(path, 300), clean(perms, 8)


def _records(text: str, first: str):
    """Yield (kind, file, rest) of the ``C``/``D``/``K`` lines; None when the server is absent."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].strip() == ABSENT:
        return None
    recs = []
    for line in lines:
        kind, _, body = line.partition(" ")
        if kind in ("C", "D"):
            recs.append((kind, clean(body, 300), ""))
        elif kind == "K" and body.startswith("/") and " " in body:
            f, _, rest = body.partition(" ")
            recs.append((kind, clean(f, 300), rest))
        else:
            raise ProbeError("unparsable", f"{first}: unexpected line {clean(line, 60)!r}")
    return recs


def _postgresql(text: str) -> list[dict]:
    recs = _records(text, "PostgreSQL configuration")
    if recs is None:
        return []
    clusters: list[dict] = []
    if not recs:   # installed, no cluster configured: nothing serves data
        return []
    for kind, f, rest in recs:
        if kind == "C":
            clusters.append({"server": "postgresql", "config": f, "settings": {}})
        elif kind == "K" and clusters:
            m = _PG_KV.match(rest)
            if m:
                value = m.group(2).replace("''", "'") if m.group(2) is not None else m.group(3)
                clusters[-1]["settings"][m.group(1).lower()] = clean(value, 300)
        else:
            raise ProbeError("unparsable", "PostgreSQL configuration: a setting before any cluster")
    out = []
    for c in clusters:
        s = c["settings"]
        libs = [x.strip().strip('"') for x in s.get("shared_preload_libraries", "").split(",") if x.strip()]
        log = s.get("pgaudit.log", "none").strip().lower()
        if "pgaudit" not in libs:
            audited, why = False, "pgaudit is not in shared_preload_libraries"
        elif log in ("", "none"):
            audited, why = False, "pgaudit.log is none (nothing is logged)"
        else:
            audited, why = True, f"pgaudit loaded, pgaudit.log = {log}"
        out.append({"server": "postgresql", "config": c["config"], "audited": audited, "why": why})
    return out


def _mariadb(text: str) -> list[dict]:
    recs = _records(text, "MariaDB configuration")
    if recs is None:
        return []
    server = next((f for k, f, _ in recs if k == "D"), None)
    if server is None:
        raise ProbeError("unparsable", "MariaDB configuration: no server line")
    plugins: set[str] = set()
    logging = None
    for kind, f, rest in recs:
        if kind != "K":
            continue
        key, _, value = rest.partition("=")
        key = key.strip().lower().replace("-", "_")
        value = value.split("#", 1)[0].strip().strip("'\"").lower()
        if key.startswith("plugin_load"):
            plugins.update(re.sub(r"\.(so|dll)$", "", p.split("=")[-1].strip()) for p in re.split(r"[;,]", value) if p.strip())
        elif key == "server_audit_logging":
            logging = value in ("on", "1", "true", "yes", "")
        elif key in ("server_audit", "audit_log") and value in ("force_plus_permanent", "force", "on", ""):
            plugins.add(key)
    if "audit_log" in plugins:
        audited, why = True, "audit_log plugin loaded"
    elif "server_audit" not in plugins:
        audited, why = False, "server_audit plugin is not loaded"
    elif not logging:
        audited, why = False, "server_audit_logging is not on"
    else:
        audited, why = True, "server_audit loaded, server_audit_logging on"
    return [{"server": server, "config": "/etc/mysql, /etc/my.cnf*", "audited": audited, "why": why}]


def _mariadb_live(text: str) -> tuple[list[dict], list[str]]:
    """The running servers of the ``M``/``V``/``E`` lines, as databases, and those that did not answer."""
    servers: list[dict] = []
    for line in text.splitlines():
        kind, _, body = line.partition(" ")
        if kind == "V" and not body.strip():   # neither the variable nor a plugin
            continue
        if kind == "M" and body.startswith("/"):
            servers.append({"socket": clean(body, 200), "values": {}, "problem": None})
        elif servers and kind == "E":
            servers[-1]["problem"] = clean(body, 160) or "no answer"
        elif servers and kind == "V" and "\t" in body:
            key, _, value = body.partition("\t")
            key = key.strip().lower()
            if key in servers[-1]["values"]:
                raise ProbeError("unparsable", f"running MariaDB servers: {clean(key, 40)!r} twice")
            servers[-1]["values"][key] = value.strip().upper()
        else:
            raise ProbeError("unparsable", f"running MariaDB servers: unexpected line {clean(line, 60)!r}")
    databases, unanswered = [], []
    for s in servers:
        if s["problem"]:
            unanswered.append(f"running server {s['socket']}: {s['problem']}")
            continue
        v = s["values"]
        if v.get("audit_log") == "ACTIVE":
            audited, why = True, "audit_log plugin active"
        elif v.get("server_audit") != "ACTIVE":
            audited, why = False, "server_audit plugin is not loaded in the running server"
        elif v.get("server_audit_logging") != "ON":
            audited, why = False, "server_audit_logging is not on in the running server"
        else:
            audited, why = True, "server_audit active, server_audit_logging ON in the running server"
        databases.append({"server": "mariadbd (running)", "config": s["socket"], "audited": audited, "why": why})
    return databases, unanswered
