"""patches.automatic: whether security updates are installed automatically.

Debian/Ubuntu: unattended-upgrades installed, ``APT::Periodic::Unattended-Upgrade`` and
``Update-Package-Lists`` non-zero, apt-daily(-upgrade).timer enabled. RHEL family:
dnf-automatic-install.timer enabled, or dnf-automatic.timer with ``apply_updates = yes``.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Probe

_PERIODIC = re.compile(r'^APT::Periodic::([A-Za-z-]+) "([^"]*)";$')
ENABLED = ("enabled", "enabled-runtime", "alias")


class PatchesAutomatic(Probe):
    name = "patches.automatic"
    summary = "Automatic (security) updates: unattended-upgrades + apt timers, or dnf-automatic"
    timeout = 30
    tools = {"apt": ("apt-config", "dpkg-query", "systemctl"), "dnf": ("dnf", "dnf5", "systemctl")}
    commands = {
        "apt": (
            "command -v apt-config >/dev/null 2>&1 || { echo absent; exit 0; }; "
            "apt-config dump APT::Periodic | "
            "grep -aE '^APT::Periodic::(Unattended-Upgrade|Update-Package-Lists|Enable) ' | head -n 10; "
            "printf 'uu_status\\t%s\\n' \"$(dpkg-query -W -f='${Status}' unattended-upgrades 2>/dev/null)\"; "
            "if command -v systemctl >/dev/null 2>&1; then "
            "for t in apt-daily.timer apt-daily-upgrade.timer; do "
            "printf 'timer\\t%s\\t%s\\n' $t \"$(systemctl is-enabled $t 2>/dev/null | head -n 1)\"; done; "
            "else printf 'timer\\tnone\\tno-systemd\\n'; fi; "
            "f=/var/log/unattended-upgrades/unattended-upgrades.log; "
            "[ -e $f ] && printf 'log\\t%s\\n' \"$(stat -c %Y $f)\"; exit 0"
        ),
        "dnf": (
            "command -v dnf >/dev/null 2>&1 || command -v dnf5 >/dev/null 2>&1 || { echo absent; exit 0; }; "
            "for t in dnf-automatic.timer dnf-automatic-install.timer dnf5-automatic.timer; do "
            "printf 'timer\\t%s\\t%s\\n' $t \"$(systemctl is-enabled $t 2>/dev/null | head -n 1)\"; done; "
            "for f in /etc/dnf/automatic.conf /etc/dnf/dnf5-plugins/automatic.conf; do [ -r $f ] || continue; "
            "grep -aE '^[[:space:]]*(apply_updates|upgrade_type)[[:space:]]*=' $f | tr -d ' \\t' | "
            "sed 's/^/conf\\t/'; done; exit 0"
        ),
    }

    def parse(self, out, args):
        cut = "automatic update check truncated"
        asec = complete_section(out, "apt", "apt automatic updates", truncated=cut)
        dsec = complete_section(out, "dnf", "dnf-automatic", truncated=cut)
        alines = [ln for ln in asec.stdout.splitlines() if ln.strip()]
        dlines = [ln for ln in dsec.stdout.splitlines() if ln.strip()]
        if alines != ["absent"]:
            return self._apt(alines)
        if dlines != ["absent"]:
            return self._dnf(dlines)
        return {"manager": None, "automatic_updates": False, "mechanism": None, "details": {},
                "last_run": None}

    def _apt(self, lines):
        periodic, timers, uu, last = {}, {}, None, None
        for ln in lines:
            m = _PERIODIC.match(ln.strip())
            if m:
                periodic[m.group(1)] = clean(m.group(2), 20)
                continue
            parts = ln.split("\t")
            if parts[0] == "uu_status" and len(parts) == 2:
                uu = parts[1].strip() == "install ok installed"
            elif parts[0] == "timer" and len(parts) == 3:
                timers[clean(parts[1], 60)] = clean(parts[2], 30) or "not-found"
            elif parts[0] == "log" and len(parts) == 2:
                last = iso_utc(epoch(parts[1], "unattended-upgrades log mtime"))
            else:
                raise ProbeError("unparsable", f"apt automatic updates: unexpected line {ln[:80]!r}")
        if uu is None or not timers:
            raise ProbeError("incomplete_output", "apt automatic updates: answer incomplete")

        def on(key):   # APT::Periodic values are day counts ("1") or "always"; "0" or unset is off
            v = periodic.get(key, "0")
            return v not in ("0", "") and v.lower() != "false"

        timers_ok = timers == {"none": "no-systemd"} or all(
            timers.get(t) in ENABLED for t in ("apt-daily.timer", "apt-daily-upgrade.timer"))
        enabled = bool(uu and on("Unattended-Upgrade") and on("Update-Package-Lists") and timers_ok
                       and periodic.get("Enable", "1") != "0")
        details = {"unattended_upgrades_installed": uu,
                   "periodic_unattended_upgrade": periodic.get("Unattended-Upgrade"),
                   "periodic_update_package_lists": periodic.get("Update-Package-Lists"),
                   "timers": timers}
        return {"manager": "apt", "automatic_updates": enabled,
                "mechanism": "unattended-upgrades" if uu else None, "details": details, "last_run": last}

    def _dnf(self, lines):
        timers, conf = {}, {}
        for ln in lines:
            parts = ln.split("\t")
            if parts[0] == "timer" and len(parts) == 3:
                timers[clean(parts[1], 60)] = clean(parts[2], 30) or "not-found"
            elif parts[0] == "conf" and len(parts) == 2 and "=" in parts[1]:
                k, _, v = parts[1].partition("=")
                conf.setdefault(k, clean(v, 30))   # the first file (dnf 4) wins
            else:
                raise ProbeError("unparsable", f"dnf-automatic: unexpected line {ln[:80]!r}")
        if not timers:
            raise ProbeError("incomplete_output", "dnf-automatic: answer incomplete")
        apply = conf.get("apply_updates", "no").lower() in ("yes", "true", "1", "on")
        install_timer = timers.get("dnf-automatic-install.timer") in ENABLED
        plain_timer = any(timers.get(t) in ENABLED for t in ("dnf-automatic.timer", "dnf5-automatic.timer"))
        enabled = install_timer or (plain_timer and apply)
        mechanism = "dnf-automatic" if (install_timer or plain_timer) else None
        details = {"timers": timers, "apply_updates": conf.get("apply_updates"),
                   "upgrade_type": conf.get("upgrade_type")}
        return {"manager": "dnf", "automatic_updates": enabled, "mechanism": mechanism,
                "details": details, "last_run": None}
