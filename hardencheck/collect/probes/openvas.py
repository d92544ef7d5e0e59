"""openvas.report: the newest exported OpenVAS/GVM report file (age only; contents stay on the host)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_ABSENT"
_ENTRY = re.compile(r"^([0-9]{1,12}) (/.*)$")


class OpenvasReport(Probe):
    name = "openvas.report"
    summary = "Newest exported OpenVAS/GVM report in a file or folder: name and modification time"
    timeout = 30
    args = {
        "path": Arg("path", default="/var/lib/hardencheck/openvas", remote=True,
                    doc="a report file, or a folder of exported reports (newest file wins)"),
    }
    commands = {
        # names are only printed, never handed to a shell; "F" marks the kind of the path
        "listing": (
            f"p=$1; if [ ! -e \"$p\" ]; then echo {ABSENT}; exit 0; fi; "
            "if [ -d \"$p\" ]; then echo 'kind dir'; "
            "find \"$p\" -maxdepth 1 -type f -exec stat -c '%Y %n' {} +; "
            "else echo 'kind file'; stat -c '%Y %n' \"$p\"; fi"
        ),
    }

    def parse(self, out, args):
        path = args.get("path") or "/var/lib/hardencheck/openvas"
        sec = complete_section(out, "listing", "listing OpenVAS reports",
                               truncated="report listing truncated")
        lines = sec.stdout.split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        if lines and lines[0].strip() == ABSENT:
            return {"exists": False, "path": path, "newest": None, "modified_at": None, "files": 0}
        if not lines or lines[0] not in ("kind dir", "kind file"):
            raise ProbeError("unparsable", "report listing: no kind line")
        entries: list[list] = []
        prefix = path.rstrip("/") + "/" if lines[0] == "kind dir" else path
        for line in lines[1:]:
            m = _ENTRY.match(line)
            # a line only starts an entry when it names something at the path we asked for, so a
            # file name with a newline cannot forge another entry
            if m and (m.group(2).startswith(prefix) if lines[0] == "kind dir" else m.group(2) == path):
                entries.append([epoch(m.group(1), "report mtime"), m.group(2)])
            elif entries:
                entries[-1][1] += "\n" + line     # a file name containing a newline
            else:
                raise ProbeError("unparsable", f"report listing: unexpected line {line[:80]!r}")
        if lines[0] == "kind file" and len(entries) != 1:
            raise ProbeError("unparsable", "report listing: expected one stat line for a file")
        if not entries:
            return {"exists": True, "path": path, "newest": None, "modified_at": None, "files": 0}
        mtime, name = max(entries, key=lambda e: (e[0], e[1]))
        return {"exists": True, "path": path, "newest": clean(name, 4096), "modified_at": iso_utc(mtime),
                "files": len(entries)}
