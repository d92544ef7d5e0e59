"""services.active: which of the named systemd units are active (``systemctl is-active``)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Arg, Probe

_UNIT = re.compile(r"^[A-Za-z0-9_.@:+-]+$")
_NO_SYSTEMD = re.compile(r"not been booted with systemd|Failed to connect to bus", re.I)


class ServicesActive(Probe):
    name = "services.active"
    summary = "State of named systemd units (systemctl is-active): which of them are active"
    timeout = 30
    args = {
        "names": Arg("str_list", default=[], remote=True, doc="unit names (.service may be left out)"),
    }
    tools = {"states": ("systemctl",)}
    commands = {
        "states": (
            "command -v systemctl >/dev/null 2>&1 || { echo 'systemctl: not found' >&2; exit 127; }; "
            "printf '%s\\n' \"$1\" | while IFS= read -r n; do [ -n \"$n\" ] || continue; "
            "case $n in -*|*[!A-Za-z0-9_.@:+-]*) printf 'bad\\n'; continue ;; esac; "
            "printf 'unit\\t%s\\t%s\\n' \"$n\" \"$(systemctl is-active -- \"$n\" | head -n 1)\"; done"
        ),
    }

    def parse(self, out, args):
        names = [n for n in (args.get("names") or []) if n]
        for n in names:
            if not _UNIT.match(n) or n.startswith("-"):
                raise ProbeError("invalid_value", f"not a unit name: {n[:60]!r}")
        sec = complete_section(out, "states", "systemctl is-active")
        units: dict[str, str] = {}
        for line in sec.stdout.splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3 or parts[0] != "unit" or parts[1] not in names:
                raise ProbeError("unparsable", f"systemctl is-active: unexpected line {line[:80]!r}")
            units[parts[1]] = clean(parts[2], 40) or "unknown"
        if len(units) != len(set(names)):
            raise ProbeError("incomplete_output", f"{len(names)} unit(s) asked, {len(units)} answered")
        if units and all(s == "unknown" for s in units.values()) and _NO_SYSTEMD.search(sec.stderr):
            raise ProbeError("probe_failed", "systemd is not running on this host (systemctl cannot answer)")
        return {"checked": len(units), "units": units,
                "active": [n for n in names if units.get(n) == "active"]}
