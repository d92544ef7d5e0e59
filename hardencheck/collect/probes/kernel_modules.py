"""kernel.modules: can a kernel module (usb-storage by default) be loaded, and is it loaded now?

``modprobe -n -v`` shows what loading would do (``install /bin/false`` = disabled, ``insmod …`` =
loadable, "not found" = no such module); ``modprobe --showconfig`` shows install and blacklist
rules; /proc/modules and modules.builtin show whether it is loaded or compiled in.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Arg, Probe

_DISABLING = re.compile(r"^(/usr)?(/s?bin/)?(false|true)(\s.*)?$")
_NOT_FOUND = re.compile(r"not found in directory|Module \S+ not found", re.I)


class KernelModules(Probe):
    name = "kernel.modules"
    summary = "A kernel module's state (default usb-storage): loaded, built in, loadable, install/blacklist rules"
    timeout = 20
    args = {
        "module": Arg("name", default="usb-storage", remote=True, doc="kernel module name"),
    }
    tools = {"dry_run": ("modprobe",), "config": ("modprobe",)}
    commands = {
        "dry_run": "command -v modprobe >/dev/null 2>&1 || exit 127; modprobe -n -v -- \"$1\"",
        "config": (
            "command -v modprobe >/dev/null 2>&1 || exit 127; n=$(printf '%s' \"$1\" | tr - _); "
            "c=$(modprobe --showconfig 2>&1) || { printf '%s\\n' \"$c\" | head -n 5 >&2; exit 1; }; "
            "printf '%s\\n' \"$c\" | awk -v n=\"$n\" '($1==\"install\" || $1==\"blacklist\") && $2==n' "
            "| head -n 20; exit 0"
        ),
        "state": (
            "n=$(printf '%s' \"$1\" | tr - _); "
            "if [ -r /proc/modules ] && awk -v n=\"$n\" '$1==n {f=1} END {exit !f}' /proc/modules; "
            "then echo loaded=yes; "
            "else echo loaded=no; fi; "
            "b=/lib/modules/$(uname -r)/modules.builtin; "
            "if [ -r \"$b\" ] && awk -F/ -v n=\"$n\" "
            "'{m=$NF; sub(/\\.ko$/, \"\", m); gsub(/-/, \"_\", m); if (m==n) f=1} END {exit !f}' \"$b\"; "
            "then echo builtin=yes; else echo builtin=no; fi"
        ),
    }

    def parse(self, out, args):
        module = args.get("module") or "usb-storage"
        dsec = section(out, "dry_run", "modprobe -n -v")
        # exit 1: the module does not exist (or loading would fail)
        require_success(dsec, f"modprobe -n -v {module}", ok_codes=(0, 1))
        install_cmd, insmod = None, False
        for raw in dsec.stdout.splitlines():
            line = raw.strip()
            if line.startswith("install "):
                install_cmd = clean(line[8:], 200)
            elif line.startswith("insmod "):
                insmod = True
            elif line.startswith("builtin ") or line.startswith("rmmod ") or not line:
                pass
            else:
                raise ProbeError("unparsable", f"modprobe -n -v: unexpected line {clean(line, 80)!r}")
        not_found = dsec.exit_code == 1 and bool(_NOT_FOUND.search(dsec.stderr))
        if dsec.exit_code == 1 and not not_found:
            raise ProbeError("probe_failed", f"modprobe -n -v {module}: {clean(dsec.stderr, 150)}")

        csec = section(out, "config", "modprobe --showconfig")
        require_success(csec, "modprobe --showconfig")
        blacklisted, config_install = False, None
        for raw in csec.stdout.splitlines():
            words = raw.split(None, 2)
            if len(words) >= 2 and words[0] == "blacklist":
                blacklisted = True
            elif len(words) >= 3 and words[0] == "install":
                config_install = clean(words[2], 200)
            elif raw.strip():
                raise ProbeError("unparsable", f"modprobe --showconfig: unexpected {clean(raw, 80)!r}")

        ssec = section(out, "state", "/proc/modules")
        require_success(ssec, "reading /proc/modules")
        kv = dict(line.strip().partition("=")[::2] for line in ssec.stdout.splitlines() if "=" in line)
        if kv.get("loaded") not in ("yes", "no") or kv.get("builtin") not in ("yes", "no"):
            raise ProbeError("unparsable", "/proc/modules check printed something unexpected")

        install = install_cmd or config_install
        disabled = bool(install and _DISABLING.match(install))
        builtin = kv["builtin"] == "yes"
        found = insmod or install is not None or builtin or (dsec.exit_code == 0 and not not_found)
        return {
            "module": module,
            "loaded": kv["loaded"] == "yes",
            "builtin": builtin,
            "module_found": bool(found) and not not_found,
            "install_command": install,
            "disabled_by_install": disabled,
            "blacklisted": blacklisted,
            # could `modprobe` (or a device plugged in) bring it in right now?
            "loadable": builtin or (bool(found) and not not_found and not disabled),
        }
