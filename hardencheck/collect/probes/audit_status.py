"""audit.status: Linux audit daemon - installed, running, kernel audit state, loaded rules, log keeping.

Needs root (``auditctl`` talks to the kernel over netlink, auditd.conf is 0640). Only counts,
watched paths and auditd.conf's retention keywords leave the host. ``required_watches``
(parse-only argument) names the files that must be watched for writes; ``missing_watches`` lists
those that are not (a watch on a directory covers the files below it).
"""

from __future__ import annotations

import re
import shlex

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, require_whole, section
from hardencheck.collect.probes.base import Arg, Probe

NOT_INSTALLED = "HC_NO_AUDIT"
CONF_KEYS = ("max_log_file_action", "num_logs", "max_log_file", "space_left_action",
             "admin_space_left_action", "disk_full_action", "disk_error_action")
DEFAULT_WATCHES = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers",
                   "/etc/sudoers.d"]


def _covers(watched: str, wanted: str) -> bool:
    w = watched.rstrip("/") or "/"
    return wanted == w or wanted.startswith(w + "/")


class AuditStatus(Probe):
    name = "audit.status"
    summary = "auditd installed/active, auditctl -s (enabled, immutable), loaded rules and watches, auditd.conf"
    timeout = 30
    max_output_bytes = 512 * 1024
    args = {
        "required_watches": Arg("path_list", default=DEFAULT_WATCHES,
                                doc="paths that must be watched for writes"),
    }
    tools = {"service": ("auditctl", "auditd", "systemctl", "pidof"), "status": ("auditctl",),
             "rules": ("auditctl",)}
    commands = {
        "service": (
            "if ! command -v auditctl >/dev/null 2>&1 && ! command -v auditd >/dev/null 2>&1; "
            f"then echo {NOT_INSTALLED}; exit 0; fi; echo installed=yes; "
            "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then "
            "printf 'active=%s\\n' \"$(systemctl is-active auditd 2>/dev/null | head -n 1)\"; "
            "elif pidof auditd >/dev/null 2>&1; then echo active=active; else echo active=inactive; fi"
        ),
        "status": (
            f"command -v auditctl >/dev/null 2>&1 || {{ echo {NOT_INSTALLED}; exit 0; }}; auditctl -s"
        ),
        "rules": (
            f"command -v auditctl >/dev/null 2>&1 || {{ echo {NOT_INSTALLED}; exit 0; }}; auditctl -l"
        ),
        "conf": (
            "f=/etc/audit/auditd.conf; [ -e \"$f\" ] || { echo HC_NO_CONF; exit 0; }; "
            "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
            "grep -aiE '^[[:space:]]*(" + "|".join(CONF_KEYS) + ")[[:space:]]*=' \"$f\" | head -n 40"
            "; exit 0"
        ),
    }

    def parse(self, out, args):
        required = list(args.get("required_watches") or DEFAULT_WATCHES)
        svc = section(out, "service", "auditd service state")
        require_success(svc, "checking auditd")
        if svc.stdout.strip() == NOT_INSTALLED:
            return {"installed": False, "active": False, "enabled": None, "immutable": False,
                    "rules_count": 0, "watched_paths": [], "missing_watches": required,
                    "config": None, "max_log_file_action": None, "num_logs": None,
                    "space_left_action": None, "admin_space_left_action": None,
                    "disk_full_action": None}
        kv = dict(ln.strip().partition("=")[::2] for ln in svc.stdout.splitlines() if "=" in ln)
        if kv.get("installed") != "yes" or "active" not in kv:
            raise ProbeError("unparsable", "auditd service state: unexpected output")
        active = kv["active"] == "active"

        st = section(out, "status", "auditctl -s")
        enabled, status = None, {}
        if st.stdout.strip() != NOT_INSTALLED:
            require_success(st, "auditctl -s")
            for line in st.stdout.splitlines():
                m = re.match(r"^\s*([a-z_]+)\s+(-?\d{1,12})\b", line)
                if m:
                    status[m.group(1)] = int(m.group(2))
            if "enabled" not in status:
                raise ProbeError("unparsable", "auditctl -s printed no 'enabled' line")
            enabled = status["enabled"]

        rs = section(out, "rules", "auditctl -l")
        rules_count, watched = 0, []
        if rs.stdout.strip() != NOT_INSTALLED:
            require_whole(rs, "auditctl -l", "auditctl -l: output was truncated")
            for raw in rs.stdout.splitlines():
                line = raw.strip()
                if not line or line == "No rules":
                    continue
                if not line.startswith("-"):
                    raise ProbeError("unparsable", f"auditctl -l: unexpected line {clean(line, 80)!r}")
                rules_count += 1
                path = self._watch(line)
                if path:
                    watched.append(clean(path, 300))
        watched = sorted(set(watched))
        missing = [w for w in required if not any(_covers(p, w) for p in watched)]

        cs = section(out, "conf", "auditd.conf")
        if cs.exit_code == 13:
            raise ProbeError("permission_denied", "/etc/audit/auditd.conf: not readable")
        require_success(cs, "reading auditd.conf")
        config = None
        if cs.stdout.strip() != "HC_NO_CONF":
            config = {}
            for line in cs.stdout.splitlines():
                key, sep, value = line.partition("=")
                key, value = key.strip().lower(), value.strip()
                if sep and key in CONF_KEYS:
                    config[key] = int(value) if re.fullmatch(r"\d{1,9}", value) else clean(value, 100).lower()
        get = (config or {}).get
        return {
            "installed": True,
            "active": active,
            "enabled": enabled,
            "immutable": enabled == 2,
            "backlog_limit": status.get("backlog_limit"),
            "lost": status.get("lost"),
            "rules_count": rules_count,
            "watched_paths": watched,
            "missing_watches": missing,
            "config": config,
            "max_log_file_action": get("max_log_file_action"),
            "num_logs": get("num_logs"),
            "space_left_action": get("space_left_action"),
            "admin_space_left_action": get("admin_space_left_action"),
            "disk_full_action": get("disk_full_action"),
        }

    @staticmethod
    def _watch(line: str) -> str | None:
        """The path a rule watches for writes, or None (syscall rules, read-only watches)."""
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        path, perms = None, None
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
        if perms is not None and "w" not in perms:
            return None
        return path
