"""time.sync: is the clock synchronised, and by how many time daemons.

``timedatectl`` is asked when systemd is the running init; otherwise ``chronyc tracking``. Active
daemons are counted by kind (chrony/chronyd are one daemon under two unit names, ntp/ntpd/ntpsec
likewise), from ``systemctl is-active`` or, without systemd, from ``pidof``.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe

# unit or process name -> daemon kind
KINDS = {
    "chrony": "chronyd", "chronyd": "chronyd",
    "ntp": "ntpd", "ntpd": "ntpd", "ntpsec": "ntpd",
    "systemd-timesyncd": "systemd-timesyncd",
    "openntpd": "openntpd",
}


class TimeSync(Probe):
    name = "time.sync"
    summary = "Clock synchronisation (timedatectl NTPSynchronized, or chronyc tracking) and active time daemons"
    timeout = 20
    tools = {"sync": ("timedatectl", "chronyc"), "daemons": ("systemctl", "pidof")}
    commands = {
        "sync": (
            "if [ -d /run/systemd/system ] && command -v timedatectl >/dev/null 2>&1; then "
            "printf 'timedatectl=%s\\n' \"$(timedatectl show -p NTPSynchronized --value 2>/dev/null)\"; fi; "
            "if command -v chronyc >/dev/null 2>&1; then "
            "chronyc -n tracking 2>/dev/null | grep -aE '^(Reference ID|Leap status|System time)' "
            "| head -n 3 | sed 's/^/chrony: /'; fi; exit 0"
        ),
        "daemons": (
            "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then "
            "for u in chrony chronyd ntp ntpd ntpsec systemd-timesyncd openntpd; do "
            "printf 'unit %s %s\\n' \"$u\" \"$(systemctl is-active \"$u\" 2>/dev/null | head -n 1)\"; done; "
            "else for p in chronyd ntpd systemd-timesyncd openntpd; do "
            "if pidof \"$p\" >/dev/null 2>&1; then printf 'proc %s active\\n' \"$p\"; "
            "else printf 'proc %s inactive\\n' \"$p\"; fi; done; fi"
        ),
    }

    def parse(self, out, args):
        dsec = section(out, "daemons", "time daemons")
        require_success(dsec, "checking time daemons")
        active, via = set(), None
        for raw in dsec.stdout.splitlines():
            words = raw.split()
            if not words:
                continue
            if len(words) not in (2, 3) or words[0] not in ("unit", "proc") or words[1] not in KINDS:
                raise ProbeError("unparsable", f"time daemons: unexpected line {clean(raw, 60)!r}")
            via = "systemctl" if words[0] == "unit" else "pidof"
            if len(words) == 3 and words[2] == "active":
                active.add(KINDS[words[1]])
        if via is None:
            raise ProbeError("unparsable", "time daemons: no output")

        ssec = section(out, "sync", "clock synchronisation")
        require_success(ssec, "checking clock synchronisation")
        synchronized, source, chrony = None, None, {}
        for raw in ssec.stdout.splitlines():
            line = raw.strip()
            if line.startswith("timedatectl="):
                value = line.split("=", 1)[1].strip()
                if value in ("yes", "no"):
                    synchronized, source = value == "yes", "timedatectl"
                elif value:
                    raise ProbeError("unparsable", f"timedatectl: unexpected {clean(value, 40)!r}")
            elif line.startswith("chrony: "):
                key, _, value = line[8:].partition(":")
                chrony[key.strip()] = clean(value.strip(), 100)
            elif line:
                raise ProbeError("unparsable", f"clock synchronisation: unexpected {clean(line, 60)!r}")
        if source is None and chrony:
            leap = chrony.get("Leap status", "")
            ref = chrony.get("Reference ID", "")
            synchronized = leap == "Normal" and not re.match(r"^0+\b", ref)
            source = "chronyc"
        if source is None and not active:
            # no systemd to ask, no chrony, and nothing that could be keeping the clock in step
            synchronized, source = False, "no_daemon"
        return {
            "synchronized": synchronized,
            "sync_source": source,
            "active_daemons": sorted(active),
            "active_count": len(active),
            "daemon_check": via,
            "chrony_leap_status": chrony.get("Leap status"),
            "chrony_system_time": chrony.get("System time"),
        }
