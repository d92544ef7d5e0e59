"""kernel.mac: mandatory access control - AppArmor profile counts by mode, SELinux mode.

AppArmor's profile list is read from securityfs (root only); only the counts per mode leave the
host. ``mode`` summarises: ``enforcing`` (SELinux enforcing, or AppArmor enabled with at least one
profile in enforce mode), ``permissive`` (SELinux permissive or only complain-mode profiles),
``no_profiles`` (AppArmor on but nothing loaded), ``disabled``, or ``unknown`` (AppArmor on but its
profile list is not visible, e.g. securityfs not mounted in a container).
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe

NO_SELINUX = "HC_NO_SELINUX"
_MODES = ("enforce", "complain", "kill", "unconfined", "prompt", "mixed")


class KernelMac(Probe):
    name = "kernel.mac"
    summary = "Mandatory access control: AppArmor profiles per mode (counts), SELinux getenforce"
    timeout = 20
    tools = {"selinux": ("getenforce",)}
    commands = {
        "apparmor": (
            "if [ ! -d /sys/module/apparmor ]; then echo module=no; exit 0; fi; echo module=yes; "
            "printf 'enabled=%s\\n' \"$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)\"; "
            "p=/sys/kernel/security/apparmor/profiles; "
            "if [ ! -e \"$p\" ]; then echo profiles=absent; exit 0; fi; "
            "m=$(sed -n 's/.*(\\([a-z]*\\))$/\\1/p' \"$p\" 2>&1) || { echo \"$m\" >&2; exit 13; }; "
            "echo profiles=read; "
            "printf '%s\\n' \"$m\" | sort | uniq -c | while read -r n mode; do "
            "[ -n \"$mode\" ] && printf 'mode %s %s\\n' \"$mode\" \"$n\"; done; exit 0"
        ),
        "selinux": (
            "if command -v getenforce >/dev/null 2>&1; then printf 'mode=%s\\n' \"$(getenforce)\"; "
            "elif [ -r /sys/fs/selinux/enforce ]; then "
            "if [ \"$(cat /sys/fs/selinux/enforce)\" = 1 ]; then echo mode=Enforcing; "
            "else echo mode=Permissive; fi; "
            f"else echo {NO_SELINUX}; exit 0; fi; "
            "if [ -r /etc/selinux/config ]; then grep -aE '^SELINUXTYPE=' /etc/selinux/config | head -n 1; fi; exit 0"
        ),
    }

    def parse(self, out, args):
        asec = section(out, "apparmor", "AppArmor status")
        if asec.exit_code == 13:
            raise ProbeError("permission_denied",
                             f"AppArmor profile list: {clean(asec.stderr, 120) or 'not readable'}")
        require_success(asec, "reading AppArmor status")
        aa = {"module": False, "enabled": False, "profiles_visible": False,
              "profiles": {m: 0 for m in ("enforce", "complain", "kill", "unconfined")}}
        lines = [ln.strip() for ln in asec.stdout.splitlines() if ln.strip()]
        if not lines or lines[0] not in ("module=no", "module=yes"):
            raise ProbeError("unparsable", "AppArmor status: unexpected output")
        if lines[0] == "module=yes":
            aa["module"] = True
            for line in lines[1:]:
                if line.startswith("enabled="):
                    aa["enabled"] = line[8:].strip().upper() in ("Y", "1", "YES")
                elif line == "profiles=read":
                    aa["profiles_visible"] = True
                elif line == "profiles=absent":
                    pass
                elif m := re.fullmatch(r"mode ([a-z]{1,20}) (\d{1,7})", line):
                    if m.group(1) in _MODES:
                        aa["profiles"][m.group(1)] = int(m.group(2))
                else:
                    raise ProbeError("unparsable", f"AppArmor status: unexpected line {clean(line, 60)!r}")

        ssec = section(out, "selinux", "SELinux status")
        require_success(ssec, "getenforce")
        selinux, policy = None, None
        slines = [ln.strip() for ln in ssec.stdout.splitlines() if ln.strip()]
        if not slines:
            raise ProbeError("unparsable", "getenforce printed nothing")
        if slines[0] != NO_SELINUX:
            m = re.fullmatch(r"mode=(Enforcing|Permissive|Disabled)", slines[0])
            if not m:
                raise ProbeError("unparsable", f"getenforce: unexpected {clean(slines[0], 60)!r}")
            selinux = m.group(1).lower()
            for line in slines[1:]:
                if line.startswith("SELINUXTYPE="):
                    policy = clean(line.split("=", 1)[1].strip().strip('"'), 40) or None

        enforce, complain = aa["profiles"]["enforce"], aa["profiles"]["complain"]
        if selinux == "enforcing":
            mac, mode = "selinux", "enforcing"
        elif aa["enabled"]:
            mac = "apparmor"
            if not aa["profiles_visible"]:
                mode = "unknown"
            elif enforce > 0:
                mode = "enforcing"
            elif complain > 0:
                mode = "permissive"
            else:
                mode = "no_profiles"
        elif selinux == "permissive":
            mac, mode = "selinux", "permissive"
        else:
            mac, mode = None, "disabled"
        return {
            "mac": mac,
            "mode": mode,
            "selinux": selinux,
            "selinux_policy": policy,
            "apparmor": aa,
            "enforce_profiles": enforce,
            "complain_profiles": complain,
        }
