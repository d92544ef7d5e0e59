"""fail2ban.status: is fail2ban installed and running, which jails are active, and how one jail
(``jail`` argument, default ``sshd``) is tuned.

Not installed or not running are facts (the control's point is fail2ban). Of the jail's status
only the counters travel (a fixed grep): the list of banned addresses is personal data and stays
on the host.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_ABSENT"
NOT_RUNNING = "HC_NOT_RUNNING"
NO_JAIL = "HC_NO_JAIL"
_DOWN = re.compile(r"Failed to access socket|Is fail2ban running|Could not find server|"
                   r"No such file or directory|Connection refused", re.I)
_PERM = re.compile(r"permission denied|you must be root", re.I)
_COUNTERS = {"Currently failed": "currently_failed", "Total failed": "total_failed",
             "Currently banned": "currently_banned", "Total banned": "total_banned"}
_GUARD = ("command -v fail2ban-client >/dev/null 2>&1 || { echo " + ABSENT + "; exit 0; }; "
          "fail2ban-client ping >/dev/null 2>&1 || { echo " + NOT_RUNNING + "; exit 0; }; ")


class Fail2banStatus(Probe):
    name = "fail2ban.status"
    summary = "fail2ban: installed, server answering, jail list, one jail's maxretry/bantime/findtime and counters"
    timeout = 40
    args = {"jail": Arg("name", default="sshd", remote=True, doc="jail to describe")}
    tools = {"ping": ("fail2ban-client",), "status": ("fail2ban-client",), "jail": ("fail2ban-client",)}
    commands = {
        "ping": f"command -v fail2ban-client >/dev/null 2>&1 || {{ echo {ABSENT}; exit 0; }}; "
                "fail2ban-client ping",
        "status": _GUARD + "fail2ban-client status",
        "jail": _GUARD + (
            "for k in maxretry bantime findtime; do v=$(fail2ban-client get \"$1\" \"$k\" 2>&1) || "
            "{ echo " + NO_JAIL + "; printf '%s\\n' \"$v\" | head -n 3 >&2; exit 0; }; "
            "printf '%s %s\\n' \"$k\" \"$v\"; done; "
            "fail2ban-client status \"$1\" | grep -aE 'Currently failed|Total failed|"
            "Currently banned|Total banned'; exit 0"
        ),
    }

    def parse(self, out, args):
        jail = args.get("jail") or "sshd"
        ping = section(out, "ping", "fail2ban-client ping")
        text = (ping.stdout + "\n" + ping.stderr).strip()
        base = {"installed": True, "running": False, "jails": [], "jail": jail, "jail_enabled": False,
                "maxretry": None, "bantime": None, "findtime": None, "currently_failed": None,
                "total_failed": None, "currently_banned": None, "total_banned": None}
        if ping.stdout.strip() == ABSENT:
            return {**base, "installed": False}
        if ping.exit_code != 0:
            if _PERM.search(text):
                raise ProbeError("permission_denied", f"fail2ban-client: {clean(text, 150)}")
            if _DOWN.search(text):
                return base
            require_success(ping, "fail2ban-client ping")
        if "pong" not in ping.stdout:
            raise ProbeError("unparsable", f"fail2ban-client ping: {clean(text, 80)!r}")

        st = section(out, "status", "fail2ban-client status")
        require_success(st, "fail2ban-client status")
        if st.stdout.strip() == NOT_RUNNING:
            return base  # stopped between the sections
        m = re.search(r"Jail list:[ \t]*([^\n]*)", st.stdout)
        if not m:
            raise ProbeError("unparsable", "fail2ban-client status: no jail list")
        jails = sorted({clean(j, 64) for j in re.split(r"[,\s]+", m.group(1)) if j})
        fact = {**base, "running": True, "jails": jails}

        js = section(out, "jail", f"fail2ban jail {jail}")
        require_success(js, f"fail2ban jail {jail}")
        body = js.stdout.strip()
        if body == NOT_RUNNING:
            return {**base}
        if body.startswith(NO_JAIL) or jail not in jails:
            return fact
        fact["jail_enabled"] = True
        for raw in js.stdout.splitlines():
            line = raw.strip().lstrip("|`- ").strip()
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] in ("maxretry", "bantime", "findtime"):
                fact[parts[0]] = _int(parts[1], parts[0])
                continue
            key, sep, value = line.partition(":")
            if sep and key.strip() in _COUNTERS:
                fact[_COUNTERS[key.strip()]] = _int(value.strip(), key.strip())
        if fact["maxretry"] is None or fact["bantime"] is None:
            raise ProbeError("unparsable", f"fail2ban jail {jail}: maxretry/bantime missing")
        return fact


def _int(value: str, what: str) -> int:
    value = value.strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", value):
        raise ProbeError("unparsable", f"fail2ban: {what} is not a number: {clean(value, 40)!r}")
    return int(value)
