"""files.modes: mode, owner and group of the identity files, the SSH daemon's configuration and
the SSH host private keys (``stat`` only: no file is read)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Probe

FIXED = ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/ssh/sshd_config"]
_STAT = re.compile(r"^([0-7]{1,5}) (\S+) (\S+) (/.*)$")
_HOST_KEY = re.compile(r"^/etc/ssh/ssh_host_[^/]*_key$")
_DROPIN = re.compile(r"^/etc/ssh/sshd_config\.d/[^/]*\.conf$")


def _union(entries: list[dict]) -> str:
    mode = 0
    for e in entries:
        mode |= int(e["mode"], 8)
    return f"{mode:04o}"


class FilesModes(Probe):
    name = "files.modes"
    summary = ("Mode/owner/group of /etc/passwd, group, shadow, gshadow, sshd_config (+ drop-ins) "
               "and the SSH host private keys")
    timeout = 20
    commands = {
        "stat": (
            "for f in " + " ".join(FIXED) + " /etc/ssh/sshd_config.d/*.conf /etc/ssh/ssh_host_*_key; do "
            "if [ -e \"$f\" ] || [ -L \"$f\" ]; then stat -c '%a %U %G %n' -- \"$f\" || exit 1; "
            "else case $f in *'*'*) ;; *) printf 'absent %s\\n' \"$f\" ;; esac; fi; done"
        ),
    }

    def parse(self, out, args):
        sec = complete_section(out, "stat", "stat of identity and SSH files",
                               truncated="stat output truncated")
        files: dict[str, dict] = {}
        for line in sec.stdout.splitlines():
            if not line.strip():
                continue
            if line.startswith("absent "):
                path = line[len("absent "):]
                if path in FIXED:
                    files[path] = {"exists": False, "mode": None, "owner": None, "group": None}
                    continue
                raise ProbeError("unparsable", f"stat: unexpected absent path {path[:80]!r}")
            m = _STAT.match(line)
            if not m:
                raise ProbeError("unparsable", f"stat: unexpected line {line[:80]!r}")
            path = m.group(4)
            if path not in FIXED and not _HOST_KEY.match(path) and not _DROPIN.match(path):
                raise ProbeError("unparsable", f"stat: path that was not asked for {path[:80]!r}")
            files[path] = {"exists": True, "mode": f"{int(m.group(1), 8) & 0o7777:04o}",
                           "owner": clean(m.group(2), 64), "group": clean(m.group(3), 64)}
        missing = [p for p in FIXED if p not in files]
        if missing:
            raise ProbeError("incomplete_output", f"stat: no answer for {', '.join(missing)}")
        keys = sorted(p for p in files if _HOST_KEY.match(p))
        dropins = sorted(p for p in files if _DROPIN.match(p))
        key_entries = [files[p] for p in keys]
        dropin_entries = [files[p] for p in dropins]
        return {
            "files": files,
            "host_keys": keys,
            # the union of all host keys' permission bits: "at most 0600" holds for it exactly
            # when it holds for every key
            "host_keys_mode": _union(key_entries),
            "host_key_owners": sorted({e["owner"] for e in key_entries}),
            "host_key_groups": sorted({e["group"] for e in key_entries}),
            "sshd_dropins": dropins,
            "sshd_dropins_mode": _union(dropin_entries),
            "sshd_dropin_owners": sorted({e["owner"] for e in dropin_entries}),
        }
