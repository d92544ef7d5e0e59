"""kernel.coredump: can processes leave core dumps (memory images, possibly with personal data)?

Three places decide: ``fs.suid_dumpable`` (dumps of set-uid programs), the ``hard core`` limit in
/etc/security/limits.conf and limits.d (pam_limits, later lines win for the same domain), and,
when the kernel pipes cores to systemd-coredump, its effective ``Storage=``.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe
from hardencheck.collect.probes.journald_config import effective_systemd_conf, systemd_conf_snippet

_LIMIT = re.compile(r"^([^\s#]+)\s+(hard|-)\s+core\s+(\S+)\s*$")


class KernelCoredump(Probe):
    name = "kernel.coredump"
    summary = "Core dump settings: fs.suid_dumpable, core_pattern, 'hard core' limits, systemd-coredump Storage="
    timeout = 15
    commands = {
        "kernel": (
            "printf 'suid_dumpable %s\\n' \"$(cat /proc/sys/fs/suid_dumpable)\" && "
            "printf 'core_pattern %s\\n' \"$(head -c 300 /proc/sys/kernel/core_pattern)\""
        ),
        # "path<TAB>line" for every line that sets a hard core limit; exit 13 when unreadable
        "limits": (
            "for f in /etc/security/limits.conf /etc/security/limits.d/*.conf; do "
            "[ -f \"$f\" ] || continue; "
            "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
            "grep -aE '^[[:space:]]*[^#[:space:]]+[[:space:]]+(hard|-)[[:space:]]+core[[:space:]]' \"$f\" "
            "| head -n 50 | while IFS= read -r l; do printf '%s\\t%s\\n' \"$f\" \"$l\"; done; done; exit 0"
        ),
        "coredump_conf": systemd_conf_snippet("coredump", ("Storage", "ProcessSizeMax")),
    }

    def parse(self, out, args):
        ksec = section(out, "kernel", "/proc/sys core dump settings")
        require_success(ksec, "reading /proc/sys/fs/suid_dumpable")
        kv = {}
        for line in ksec.stdout.splitlines():
            key, _, value = line.partition(" ")
            if key in ("suid_dumpable", "core_pattern") and key not in kv:
                kv[key] = value.strip()
        if not re.fullmatch(r"[0-2]", kv.get("suid_dumpable", "")):
            raise ProbeError("unparsable", "fs.suid_dumpable is not 0, 1 or 2")
        pattern = clean(kv.get("core_pattern", ""), 200)
        if not pattern:
            raise ProbeError("unparsable", "kernel.core_pattern missing")
        piped_to = None
        if pattern.startswith("|"):
            piped_to = pattern[1:].split()[0] if pattern[1:].split() else ""
        systemd_coredump = bool(piped_to and piped_to.endswith("/systemd-coredump"))

        lsec = section(out, "limits", "limits.conf")
        if lsec.exit_code == 13:
            raise ProbeError("permission_denied", f"limits.conf: {clean(lsec.stderr, 120)}")
        require_success(lsec, "reading limits.conf")
        entries, effective = [], {}
        for raw in lsec.stdout.splitlines():
            path, sep, line = raw.partition("\t")
            if not sep or not path.startswith("/"):
                raise ProbeError("unparsable", f"limits.conf: unexpected line {clean(raw, 80)!r}")
            m = _LIMIT.match(line.strip())
            if not m:
                continue  # a comment after the value or another oddity pam_limits would also skip
            domain, value = clean(m.group(1), 64), clean(m.group(3), 32)
            entries.append({"file": clean(path, 200), "domain": domain, "value": value})
            effective[domain] = value
        if len(entries) > 500:
            raise ProbeError("unparsable", "limits.conf: implausibly many core limits")

        csec = section(out, "coredump_conf", "coredump.conf")
        if csec.exit_code == 13:
            raise ProbeError("permission_denied", f"coredump.conf: {clean(csec.stderr, 120)}")
        require_success(csec, "reading coredump.conf")
        values, files = effective_systemd_conf(csec.stdout, "coredump", "coredump.conf")
        storage = values.get("Storage", "external").lower()
        return {
            "suid_dumpable": int(kv["suid_dumpable"]),
            "core_pattern": pattern,
            "systemd_coredump": systemd_coredump,
            "hard_core_limit": effective.get("*"),
            "hard_core_entries": entries,
            "coredump_storage": storage,
            "coredump_process_size_max": values.get("ProcessSizeMax"),
            # what a control judges: Storage= only matters when systemd-coredump gets the cores
            # ("not_used" rather than null: one_of refuses to compare a string with null)
            "systemd_coredump_storage": storage if systemd_coredump else "not_used",
            "coredump_conf_files": files,
        }
