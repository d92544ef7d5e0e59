"""aide.status: AIDE installed, its database, how checks are scheduled and when the newest check
log was written (only names and timestamps travel, never the database or the report)."""

from __future__ import annotations

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Probe

ENABLED = ("enabled", "enabled-runtime", "alias", "static")


class AideStatus(Probe):
    name = "aide.status"
    summary = "AIDE: installed, database file and age, timer/cron schedule, newest check log time"
    timeout = 30
    tools = {"status": ("aide", "systemctl")}
    commands = {
        "status": (
            "for d in /var/lib/aide /var/log/aide; do "
            "if [ -d $d ] && { [ ! -r $d ] || [ ! -x $d ]; }; then echo \"$d: Permission denied\" >&2; exit 13; fi; done; "
            "i=no; command -v aide >/dev/null 2>&1 && i=yes; printf 'installed\\t%s\\n' $i; "
            "for f in /var/lib/aide/aide.db /var/lib/aide/aide.db.gz; do "
            "[ -f $f ] && printf 'db\\t%s\\t%s\\n' $f \"$(stat -c %Y $f)\"; done; "
            "if command -v systemctl >/dev/null 2>&1; then "
            "for t in dailyaidecheck.timer aidecheck.timer aide-check.timer; do "
            "s=$(systemctl is-enabled $t 2>/dev/null | head -n 1); [ -n \"$s\" ] && printf 'timer\\t%s\\t%s\\n' $t \"$s\"; done; fi; "
            "for f in /etc/cron.daily/aide /etc/cron.daily/dailyaidecheck /etc/cron.weekly/aide /etc/crontab "
            "/etc/cron.d/* /var/spool/cron/root /var/spool/cron/crontabs/root; do "
            "[ -f \"$f\" ] && grep -aqs aide \"$f\" && printf 'cron\\t%s\\n' \"$f\"; done; "
            "for f in /var/log/aide/*; do [ -f \"$f\" ] && printf 'log\\t%s\\t%s\\n' \"$(stat -c %Y \"$f\")\" \"$f\"; done; exit 0"
        ),
    }

    def parse(self, out, args):
        sec = complete_section(out, "status", "AIDE status", truncated="AIDE status truncated",
                               refused=lambda s: f"AIDE folders not readable: {clean(s.stderr, 200)}")
        installed, dbs, timers, cron, logs = None, [], {}, [], []
        for line in sec.stdout.splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            if parts[0] == "installed" and len(parts) == 2 and parts[1] in ("yes", "no"):
                installed = parts[1] == "yes"
            elif parts[0] == "db" and len(parts) == 3:
                dbs.append((epoch(parts[2], "AIDE database mtime"), clean(parts[1], 200)))
            elif parts[0] == "timer" and len(parts) == 3:
                timers[clean(parts[1], 60)] = clean(parts[2], 30)
            elif parts[0] == "cron" and len(parts) == 2:
                cron.append(clean(parts[1], 300))
            elif parts[0] == "log" and len(parts) >= 3:
                logs.append((epoch(parts[1], "AIDE log mtime"), clean("\t".join(parts[2:]), 300)))
            else:
                raise ProbeError("unparsable", f"AIDE status: unexpected line {line[:80]!r}")
        if installed is None:
            raise ProbeError("unparsable", "AIDE status: no installed line")
        db = max(dbs) if dbs else None
        log = max(logs) if logs else None
        schedule = [t for t, s in timers.items() if s in ENABLED] + cron
        return {
            "installed": installed,
            "database": db[1] if db else None,
            "database_modified_at": iso_utc(db[0]) if db else None,
            "scheduled": bool(schedule),
            "schedule": schedule,
            "timers": timers,
            "last_check_at": iso_utc(log[0]) if log else None,
            "last_check_log": log[1] if log else None,
        }
