"""files.suid: regular files with the SUID or SGID bit on local writable filesystems.

The same walk as files.world_writable (one ``find -xdev`` per filesystem, low priority, under
``timeout``); only paths and modes travel. More than the listed maximum is an error: a partial
list could look like it matched the baseline.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes.base import Arg, Probe
from hardencheck.collect.probes.files_world_writable import LIMIT, WALK_IDLE_TIMEOUT, parse_walk, walk_snippet

_ENTRY = re.compile(r"^([0-7]{3,5}) (/.*)$")


class FilesSuid(Probe):
    name = "files.suid"
    summary = "Regular files with the SUID/SGID bit on local writable filesystems (paths and modes)"
    timeout = 600
    idle_timeout = WALK_IDLE_TIMEOUT     # quiet while it walks (see files_world_writable)
    max_output_bytes = 1024 * 1024
    args = {
        "exclude": Arg("path_list", default=[], remote=True,
                       doc="find -path patterns to skip (e.g. container storage)"),
    }
    commands = {
        "walk": walk_snippet("-type f -perm /6000 -printf 'S\\t%m %p\\0'"),
    }

    def parse(self, out, args):
        mounts, paths, counts = parse_walk(out, "SUID/SGID file search", {"S"}, bare_paths=False)
        if counts["S"] > len(paths["S"]):
            raise ProbeError("incomplete_output",
                             f"more than {LIMIT} SUID/SGID files: exclude container storage or "
                             "image folders with the probe's `exclude` argument")
        files = {}
        for entry in paths["S"]:
            m = _ENTRY.match(entry)
            if not m:
                raise ProbeError("unparsable", f"SUID/SGID search: unexpected entry {entry[:80]!r}")
            mode = int(m.group(1), 8)
            files[m.group(2)] = {"mode": f"{mode & 0o7777:04o}", "suid": bool(mode & 0o4000),
                                 "sgid": bool(mode & 0o2000)}
        paths_sorted = sorted(files)
        return {
            "filesystems": mounts,
            "paths": paths_sorted,
            "count": len(paths_sorted),
            "suid": [p for p in paths_sorted if files[p]["suid"]],
            "sgid": [p for p in paths_sorted if files[p]["sgid"]],
            "modes": {p: files[p]["mode"] for p in paths_sorted},
        }
