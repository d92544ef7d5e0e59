"""backup.cadence: each configured backup job's success marker against the job's own maximum age
(hourly, daily, weekly jobs side by side).

``jobs`` entries are ``NAME MAX_AGE PATH`` (``hourly 1h /var/lib/backup/hourly.ok``; MAX_AGE a
number with m, h, d or w); PATH is the marker file, or a folder whose newest file counts. Only
modification time and size leave the host. Ages are measured on the host's own clock (the clock that
stamped the markers; TIME-001 checks it), at the moment the probe runs.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Arg, Probe

_ENTRY = re.compile(r"^([A-Za-z0-9_.@+-]{1,40}) ([0-9]{1,6})([mhdw]) (/[^\x00-\x1f]{0,400})$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_LISTING = (
    "printf 'now %s\\n' \"$(date +%s)\"; printf '%s\\n' \"$1\" | while read -r name age path; do "
    "[ -n \"$name\" ] || continue; "
    "if [ ! -e \"$path\" ]; then printf 'J %s absent\\n' \"$name\"; continue; fi; "
    "if [ -d \"$path\" ]; then [ -r \"$path\" ] && [ -x \"$path\" ] || { echo \"$path: Permission denied\" >&2; exit 13; }; "
    "e=$(find \"$path\" -maxdepth 1 -type f -exec stat -c '%Y %s' {} + | sort -n | tail -n 1); "
    "else e=$(stat -c '%Y %s' \"$path\") || exit 1; fi; printf 'J %s %s\\n' \"$name\" \"${e:-empty}\"; done"
)


class BackupCadence(Probe):
    name = "backup.cadence"
    summary = "Backup markers per job (hourly, daily, …), each against its own maximum age"
    timeout = 30
    args = {
        "jobs": Arg("str_list", default=[], remote=True, doc="'NAME MAX_AGE PATH' per backup job"),
    }
    commands = {"markers": _LISTING}

    @classmethod
    def resolve_args(cls, given):
        args = super().resolve_args(given)
        names = set()
        for entry in args.get("jobs") or []:
            m = _ENTRY.fullmatch(entry)
            if not m:
                raise ValueError(f"argument 'jobs': {entry[:80]!r} is not 'NAME MAX_AGE PATH' "
                                 "(e.g. 'hourly 1h /var/lib/backup/hourly.ok')")
            if m.group(1) in names:
                raise ValueError(f"argument 'jobs': job name {m.group(1)!r} given twice")
            names.add(m.group(1))
        return args

    def parse(self, out, args):
        wanted = {}
        for entry in args.get("jobs") or []:
            m = _ENTRY.fullmatch(entry)
            wanted[m.group(1)] = (int(m.group(2)) * _UNIT[m.group(3)], m.group(2) + m.group(3), m.group(4))
        sec = complete_section(out, "markers", "backup markers", truncated="backup markers: output truncated",
                               refused=lambda s: f"backup marker: {clean(s.stderr, 160) or 'not readable'}")
        lines = sec.stdout.splitlines()
        if not lines or not lines[0].startswith("now "):
            raise ProbeError("unparsable", "backup markers: no clock line")
        now = epoch(lines[0][4:], "host clock")
        seen: dict[str, dict] = {}
        for line in lines[1:]:
            m = re.match(r"^J (\S{1,40}) (absent|empty|([0-9]{1,12}) ([0-9]{1,20}))$", line)
            if not m or m.group(1) not in wanted or m.group(1) in seen:
                raise ProbeError("unparsable", f"backup markers: unexpected line {clean(line, 60)!r}")
            name = m.group(1)
            limit, text, path = wanted[name]
            job = {"name": name, "path": path, "max_age": text, "modified_at": None, "age_hours": None,
                   "size": None, "state": m.group(2) if m.group(3) is None else "ok"}
            if m.group(3) is not None:
                mtime = epoch(m.group(3), "marker mtime")
                age = now - mtime
                job.update(modified_at=iso_utc(mtime), age_hours=round(age / 3600, 2), size=int(m.group(4)))
                if int(m.group(4)) == 0:
                    job["state"] = "empty"
                elif age > limit:
                    job["state"] = "overdue"
            seen[name] = job
        missing_output = [n for n in wanted if n not in seen]
        if missing_output:
            raise ProbeError("incomplete_output", f"backup markers: no line for {', '.join(missing_output)}")
        jobs = [seen[n] for n in wanted]
        return {
            "jobs_given": bool(jobs),
            "host_time": iso_utc(now),
            "jobs": jobs,
            "overdue_jobs": [f"{j['name']}: newest marker {j['age_hours']} h old, allowed {j['max_age']}"
                             for j in jobs if j["state"] == "overdue"],
            "missing_jobs": [f"{j['name']}: {'nothing at' if j['state'] == 'absent' else 'no or an empty marker in'} "
                             f"{j['path']}" for j in jobs if j["state"] in ("absent", "empty")],
        }
