"""rkhunter.log: when rkhunter last ran and what its summary said (only summary lines travel)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, epoch, iso_utc, require_success, section
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_ABSENT"
_PREFIX = re.compile(r"^\[[0-9:]{8}\]\s*")
MAX_WARNING_LINES = 20


class RkhunterLog(Probe):
    name = "rkhunter.log"
    summary = "rkhunter's last run from its log: age, completed, warnings, possible rootkits"
    timeout = 30
    args = {
        "path": Arg("path", default="/var/log/rkhunter.log", remote=True, doc="rkhunter log file"),
    }
    commands = {
        # exit 13 = exists but unreadable; the log itself never leaves the host, only these lines.
        # a log with NUL bytes (zero padding after a crash) is still read as text: the NULs are
        # deleted before grep (-a for anything else it might take for binary) and before a line
        # is cut to its length
        "log": (
            f"f=$1; if [ ! -e \"$f\" ]; then echo {ABSENT}; exit 0; fi; "
            "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
            "printf 'mtime %s\\n' \"$(stat -c %Y \"$f\")\" || exit 1; "
            "tr -d '\\000' < \"$f\" | grep -aE 'Start date is|End date is|Warning:|Possible rootkits|"
            "Suspect files|Rootkits checked|One or more warnings' | tail -n 300 | cut -c 1-400; exit 0"
        ),
    }

    def parse(self, out, args):
        path = args.get("path") or "/var/log/rkhunter.log"
        sec = section(out, "log", "rkhunter log")
        if sec.exit_code == 13:
            raise ProbeError("permission_denied", f"{path}: not readable")
        require_success(sec, "reading the rkhunter log")
        lines = sec.stdout.splitlines()
        if lines and lines[0].strip() == ABSENT:
            return {"exists": False, "path": path, "modified_at": None, "started": None,
                    "completed": False, "warnings": 0, "warning_lines": [],
                    "possible_rootkits": None, "suspect_files": None}
        if not lines or not lines[0].startswith("mtime "):
            raise ProbeError("unparsable", "rkhunter log: no mtime line")
        modified_at = iso_utc(epoch(lines[0][6:], "rkhunter log mtime"))
        started, completed, warnings, warning_lines = None, False, 0, []
        rootkits = suspects = None
        for raw in lines[1:]:
            # grep -a hands over lines with NUL bytes (a log padded with zeros after a crash or
            # a full disk): they carry no text, so they are dropped before the line is read
            line = _PREFIX.sub("", raw.replace("\x00", "").strip())
            if "Start date is" in line:
                # a new run (the log may be appended to): only the last run counts
                started = clean(line.split("Start date is", 1)[1], 100)
                completed, warnings, warning_lines = False, 0, []
                rootkits = suspects = None
            elif "End date is" in line:
                completed = True
            elif line.startswith("Warning:"):
                warnings += 1
                if len(warning_lines) < MAX_WARNING_LINES:
                    warning_lines.append(clean(line[len("Warning:"):], 200))
            elif m := re.match(r"Possible rootkits\s*:\s*(\d{1,9})\b", line):
                rootkits = int(m.group(1))
            elif m := re.match(r"Suspect files\s*:\s*(\d{1,9})\b", line):
                suspects = int(m.group(1))
        return {"exists": True, "path": path, "modified_at": modified_at, "started": started,
                "completed": completed, "warnings": warnings, "warning_lines": warning_lines,
                "possible_rootkits": rootkits, "suspect_files": suspects}
