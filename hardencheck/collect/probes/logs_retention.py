"""logs.retention: how long the system log (/var/log/syslog or /var/log/messages) is kept.

Configured: logrotate's ``rotate`` count and period for the block that rotates the system log
(falling back to the global values in /etc/logrotate.conf), and ``maxage``. Observed: the age in
days of the oldest rotated copy (``syslog.N[.gz]``, ``messages-YYYYMMDD``), measured with the
host's own clock; only names and timestamps travel.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, epoch, iso_utc, require_success, section
from hardencheck.collect.probes.base import Probe

NO_LOGROTATE = "HC_NO_LOGROTATE"
PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}
SYSLOG_FILES = ("/var/log/syslog", "/var/log/messages")


class LogsRetention(Probe):
    name = "logs.retention"
    summary = "System log retention: logrotate rotate x period for syslog/messages, age of the oldest rotated copy"
    timeout = 20
    tools = {"logrotate": ("logrotate",)}
    commands = {
        "logrotate": (
            f"if ! command -v logrotate >/dev/null 2>&1 && [ ! -e /etc/logrotate.conf ]; then echo {NO_LOGROTATE}; exit 0; fi; "
            "for f in /etc/logrotate.conf /etc/logrotate.d/rsyslog /etc/logrotate.d/syslog; do "
            "[ -f \"$f\" ] || continue; "
            "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
            "grep -aE '^[[:space:]]*(rotate|daily|weekly|monthly|yearly|maxage|/|\\{|\\})' \"$f\" | head -n 300 | "
            "while IFS= read -r l; do printf '%s\\t%s\\n' \"$f\" \"$l\"; done; done; exit 0"
        ),
        "files": (
            "printf 'now %s\\n' \"$(date +%s)\"; "
            "for f in /var/log/syslog* /var/log/messages*; do [ -f \"$f\" ] || continue; "
            "printf 'file %s %s\\n' \"$(stat -c %Y \"$f\")\" \"${f#/var/log/}\"; done; exit 0"
        ),
    }

    def parse(self, out, args):
        lsec = section(out, "logrotate", "logrotate configuration")
        if lsec.exit_code == 13:
            raise ProbeError("permission_denied", f"logrotate configuration: {clean(lsec.stderr, 120)}")
        require_success(lsec, "reading logrotate configuration")
        installed = lsec.stdout.strip() != NO_LOGROTATE
        glob_cfg: dict = {}
        block_cfg: dict | None = None
        log_file = None
        if installed:
            pending: list[str] = []
            current: dict | None = None
            current_paths: list[str] = []
            for raw in lsec.stdout.splitlines():
                path, sep, line = raw.partition("\t")
                if not sep or not path.startswith("/"):
                    raise ProbeError("unparsable", f"logrotate: unexpected line {clean(raw, 60)!r}")
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                if current is None:
                    if "{" in line:
                        before = line.split("{", 1)[0].split()
                        current_paths = pending + before
                        pending, current = [], {}
                        continue
                    if line.startswith("/"):
                        pending.extend(line.split())
                        continue
                    self._directive(glob_cfg, line)
                else:
                    if line.startswith("}"):
                        hit = [p for p in current_paths if p in SYSLOG_FILES]
                        if hit and block_cfg is None:
                            block_cfg, log_file = current, hit[0]
                        current, current_paths = None, []
                        continue
                    self._directive(current, line)
        cfg = dict(glob_cfg)
        cfg.update(block_cfg or {})
        rotate = cfg.get("rotate")
        period = cfg.get("period")
        retention = rotate * PERIOD_DAYS[period] if rotate is not None and period else None

        fsec = section(out, "files", "rotated system logs")
        require_success(fsec, "listing /var/log/syslog*")
        now, rotated, live = None, [], []
        for raw in fsec.stdout.splitlines():
            words = raw.split(" ", 2)
            if len(words) == 2 and words[0] == "now":
                now = epoch(words[1], "date +%s")
            elif len(words) == 3 and words[0] == "file" and words[1] == "":
                continue  # gone between the glob and stat (logrotate running): not there
            elif len(words) == 3 and words[0] == "file":
                mtime = epoch(words[1], f"mtime of {clean(words[2], 60)}")
                name = clean(words[2], 200)
                (live if name in ("syslog", "messages") else rotated).append((mtime, name))
            elif raw.strip():
                raise ProbeError("unparsable", f"rotated system logs: unexpected line {clean(raw, 60)!r}")
        if now is None:
            raise ProbeError("unparsable", "rotated system logs: no host time")
        oldest = min(rotated) if rotated else None
        return {
            "logrotate": installed,
            "config_found": block_cfg is not None,
            "log_file": log_file,
            "rotate": rotate,
            "period": period,
            "retention_days": retention,
            "maxage_days": cfg.get("maxage"),
            "live_file": bool(live),
            "rotated_files": len(rotated),
            "oldest_rotated": oldest[1] if oldest else None,
            "oldest_rotated_at": iso_utc(oldest[0]) if oldest else None,
            # 0 when nothing has been rotated yet: nothing is older than any limit
            "oldest_rotated_age_days": max(0, (now - oldest[0]) // 86400) if oldest else 0,
        }

    @staticmethod
    def _directive(cfg: dict, line: str) -> None:
        words = line.split()
        if words[0] in PERIOD_DAYS:
            cfg["period"] = words[0]
        elif words[0] in ("rotate", "maxage") and len(words) >= 2:
            if not re.fullmatch(r"-?\d{1,6}", words[1]):
                raise ProbeError("unparsable", f"logrotate: bad {words[0]} value {clean(words[1], 20)!r}")
            cfg[words[0]] = max(0, int(words[1])) if words[0] == "maxage" else int(words[1])
