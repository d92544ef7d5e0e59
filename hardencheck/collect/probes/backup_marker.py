"""backup.marker: the success marker a backup job leaves (a file, or the newest file in a folder):
modification time and size only."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_ABSENT"
_ENTRY = re.compile(r"^([0-9]{1,12}) ([0-9]{1,20}) (/.*)$")


class BackupMarker(Probe):
    name = "backup.marker"
    summary = "Backup success marker (a file, or the newest file in a folder): modification time and size"
    timeout = 30
    args = {
        "path": Arg("path", default="/var/lib/hardencheck/backup", remote=True,
                    doc="the marker file, or a folder of markers/backup artefacts (newest file wins)"),
    }
    commands = {
        "listing": (
            f"p=$1; if [ ! -e \"$p\" ]; then echo {ABSENT}; exit 0; fi; "
            "if [ -d \"$p\" ]; then [ -r \"$p\" ] && [ -x \"$p\" ] || { echo \"$p: Permission denied\" >&2; exit 13; }; "
            "echo 'kind dir'; find \"$p\" -maxdepth 1 -type f -exec stat -c '%Y %s %n' {} + | sort -n | tail -n 1; "
            "else echo 'kind file'; stat -c '%Y %s %n' \"$p\"; fi"
        ),
    }

    def parse(self, out, args):
        path = args.get("path") or "/var/lib/hardencheck/backup"
        sec = complete_section(out, "listing", "backup marker", truncated="backup marker listing truncated",
                               refused=f"{path}: not readable")
        lines = sec.stdout.split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        if lines and lines[0].strip() == ABSENT:
            return {"exists": False, "path": path, "newest": None, "modified_at": None, "size": None}
        if not lines or lines[0] not in ("kind dir", "kind file"):
            raise ProbeError("unparsable", "backup marker: no kind line")
        if len(lines) == 1 and lines[0] == "kind dir":
            return {"exists": True, "path": path, "newest": None, "modified_at": None, "size": None}
        # a file name may contain newlines: the entry is everything after the first line
        m = _ENTRY.match("\n".join(lines[1:]).split("\n")[0])
        if not m:
            raise ProbeError("unparsable", "backup marker: unexpected stat line")
        name = "\n".join([m.group(3)] + lines[2:])
        prefix = path.rstrip("/") + "/" if lines[0] == "kind dir" else None
        if (prefix and not name.startswith(prefix)) or (not prefix and name != path):
            raise ProbeError("unparsable", "backup marker: stat named another path")
        return {"exists": True, "path": path, "newest": clean(name, 4096),
                "modified_at": iso_utc(epoch(m.group(1), "marker mtime")), "size": int(m.group(2))}
