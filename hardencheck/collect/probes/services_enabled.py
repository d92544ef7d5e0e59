"""services.enabled: systemd service and socket units enabled to start at boot.

``systemctl list-unit-files`` reads the unit files, so it also works where systemd is not the
running init (a container, a rescue system). No ``systemctl`` at all is a fact
(``systemd: false``), not an error. ``forbidden`` (a parse-only argument) names services that must
not be enabled; ``forbidden_enabled`` lists those that are, by their bare name.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_whole, section
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_NO_SYSTEMCTL"
_UNIT = re.compile(r"^([A-Za-z0-9:_.@\\-]{1,256})\.(service|socket)$")
_STATES = ("enabled", "enabled-runtime")

DEFAULT_FORBIDDEN = [
    "telnet", "telnetd", "rsh", "rlogin", "rexec", "tftp", "tftpd-hpa", "atftpd", "vsftpd",
    "proftpd", "pure-ftpd", "avahi-daemon", "cups", "cups-browsed", "rpcbind", "nfs-server",
    "nfs-kernel-server", "snmpd", "xinetd", "openbsd-inetd", "inetutils-inetd", "ypserv",
    "ypbind", "rsync", "autofs", "dnsmasq", "squid", "slapd", "smbd", "nmbd", "isc-dhcp-server",
]


def bare_name(unit: str) -> str:
    """``avahi-daemon.socket`` -> ``avahi-daemon``; ``getty@.service`` / ``getty@tty1`` -> ``getty``."""
    name = unit.rsplit(".", 1)[0] if unit.endswith((".service", ".socket")) else unit
    return name.split("@", 1)[0]


class ServicesEnabled(Probe):
    name = "services.enabled"
    summary = "Service and socket units enabled at boot (systemctl list-unit-files); forbidden ones named"
    timeout = 30
    max_output_bytes = 512 * 1024
    args = {
        "forbidden": Arg("str_list", default=DEFAULT_FORBIDDEN,
                         doc="service names (without .service/.socket) that must not be enabled"),
    }
    tools = {"units": ("systemctl",)}
    commands = {
        "units": (
            f"command -v systemctl >/dev/null 2>&1 || {{ echo {ABSENT}; exit 0; }}; "
            "SYSTEMD_PAGER= systemctl list-unit-files --type=service,socket --state=enabled,enabled-runtime "
            "--no-legend --no-pager"
        ),
    }

    def parse(self, out, args):
        forbidden = [f.strip() for f in (args.get("forbidden") or []) if f.strip()]
        sec = section(out, "units", "systemctl list-unit-files")
        if sec.exit_code == 0 and sec.stdout.strip() == ABSENT:
            return {"systemd": False, "enabled": [], "names": [], "count": 0,
                    "forbidden_enabled": []}
        # exit 1 with no output: nothing matched the state filter (some systemd versions)
        nothing_matched = sec.exit_code == 1 and not sec.stdout.strip() and not sec.stderr.strip()
        require_whole(sec, "systemctl list-unit-files", "systemctl list-unit-files: output was truncated",
                      ok_codes=(0, 1) if nothing_matched else (0,))
        enabled = []
        for raw in sec.stdout.splitlines():
            line = raw.strip()
            if not line:
                continue
            words = line.split()
            if len(words) < 2:
                raise ProbeError("unparsable", f"systemctl: unexpected line {clean(line, 80)!r}")
            unit, state = words[0], words[1]
            if not _UNIT.match(unit) or not re.fullmatch(r"[a-z-]{3,20}", state):
                raise ProbeError("unparsable", f"systemctl: unexpected line {clean(line, 80)!r}")
            if state in _STATES:
                enabled.append(unit)
        if len(enabled) > 10000:
            raise ProbeError("unparsable", "systemctl: implausibly many units")
        enabled = sorted(set(enabled))
        names = sorted({bare_name(u) for u in enabled})
        wanted = set(forbidden)
        return {
            "systemd": True,
            "enabled": enabled,
            "names": names,
            "count": len(enabled),
            "forbidden_enabled": [u for u in enabled if bare_name(u) in wanted],
        }
