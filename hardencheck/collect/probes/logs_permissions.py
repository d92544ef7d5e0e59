"""logs.permissions: regular files under /var/log that every user may read.

``find`` runs on the host under ``timeout`` and its list is capped at 500 names (the rest is only
counted); only paths travel. ``allowed`` (parse-only; shell-style patterns on the path relative
to /var/log) names files that are world-readable by design (wtmp, lastlog); ``not_allowed`` is
what is left.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Arg, Probe

LIMIT = 500
_PERM = re.compile(r"permission denied", re.I)


class LogsPermissions(Probe):
    name = "logs.permissions"
    summary = "World-readable regular files under /var/log (find -perm -o+r under timeout, bounded), allowlist applied"
    timeout = 90
    max_output_bytes = 256 * 1024
    args = {
        "allowed": Arg("str_list", default=["wtmp", "wtmp.*", "lastlog"],
                       doc="patterns (relative to /var/log) of files that may be world-readable"),
    }
    commands = {
        "files": (
            "[ -d /var/log ] || { echo HC_NO_VAR_LOG; exit 0; }; "
            "command -v timeout >/dev/null 2>&1 || exit 127; "
            "{ timeout 60 find /var/log -xdev -type f -perm -0004 -print; echo \"HC_RC=$?\"; } | "
            f"awk 'NR<={LIMIT} || /^HC_RC=/ {{print; next}} {{n++}} END {{if (n) print \"HC_MORE=\" n}}'"
        ),
    }

    def parse(self, out, args):
        allowed = [a for a in (args.get("allowed") or []) if a]
        sec = section(out, "files", "find /var/log")
        require_success(sec, "find /var/log")
        lines = sec.stdout.splitlines()
        if lines and lines[0].strip() == "HC_NO_VAR_LOG":
            return {"var_log": False, "world_readable": [], "not_allowed": [], "count": 0,
                    "more": 0}
        rc, more, files = None, 0, []
        for raw in lines:
            if raw.startswith("HC_RC="):
                value = raw[6:].strip()
                if not value.isdigit():
                    raise ProbeError("unparsable", "find /var/log: bad exit status line")
                rc = int(value)
            elif raw.startswith("HC_MORE="):
                value = raw[8:].strip()
                more = int(value) if value.isdigit() and len(value) < 10 else 0
            elif raw.startswith("/var/log/"):
                files.append(clean(raw[len("/var/log/"):], 300))
            elif raw.strip():
                raise ProbeError("unparsable", f"find /var/log: unexpected line {clean(raw, 60)!r}")
        if rc is None:
            raise ProbeError("incomplete_output", "find /var/log: the listing did not finish")
        if rc in (124, 137):
            raise ProbeError("timeout", "find /var/log: timed out on the host")
        if rc != 0:
            if _PERM.search(sec.stderr):
                raise ProbeError("permission_denied", f"find /var/log: {clean(sec.stderr, 150)}")
            raise ProbeError("probe_failed", f"find /var/log exited with {rc}: {clean(sec.stderr, 150)}")
        files = sorted(set(files))
        not_allowed = [f for f in files if not any(fnmatchcase(f, p) for p in allowed)]
        if more:
            # names beyond the cap were not seen, so none of them can have been allowed
            not_allowed.append(f"... and {more} more")
        return {
            "var_log": True,
            "world_readable": files,
            "not_allowed": not_allowed,
            "count": len(files) + more,
            "more": more,
        }
