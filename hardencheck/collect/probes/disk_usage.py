"""disk.usage: space and inode use of local filesystems (``df -P``, ``df -Pi``).

tmpfs/devtmpfs (RAM), overlay (container layers, counted on the filesystem below them),
squashfs/iso9660/udf/erofs (read-only images, always full) and network filesystems (``-l``) are
left out.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_whole, section
from hardencheck.collect.probes.base import Arg, Probe

_X = "-x tmpfs -x devtmpfs -x overlay -x squashfs -x iso9660 -x udf -x erofs -x efivarfs"
_PCT = re.compile(r"^(\d{1,3})%$")


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r.rstrip("/") or (r.rstrip("/") and path.startswith(r.rstrip("/") + "/"))
               or r == "/" and path == "/" for r in roots)


class DiskUsage(Probe):
    name = "disk.usage"
    summary = "Space and inode use per local filesystem (df -P / df -Pi), the fullest of each"
    timeout = 30
    args = {
        "exempt_mounts": Arg("path_list", default=[], remote=False,
                             doc="mountpoints (and those below them) left out of the maxima"),
    }
    commands = {
        # df exits 1 when one filesystem cannot be read but still lists the others
        "space": f"df -P -T -l {_X}",
        "inodes": f"df -P -T -i -l {_X}",
    }

    def _table(self, sec, what) -> dict[str, dict]:
        ok = (0, 1) if sec.stdout.strip() else (0,)
        require_whole(sec, what, ok_codes=ok)
        lines = [ln for ln in sec.stdout.splitlines() if ln.strip()]
        if not lines or not lines[0].startswith("Filesystem"):
            raise ProbeError("unparsable", f"{what}: no header line")
        rows = {}
        for line in lines[1:]:
            parts = line.split(None, 6)
            if len(parts) != 7:
                raise ProbeError("unparsable", f"{what}: unexpected line {line[:80]!r}")
            m = _PCT.match(parts[5])
            if not m and parts[5] != "-":
                raise ProbeError("unparsable", f"{what}: bad percentage {parts[5][:20]!r}")
            rows[parts[6]] = {"device": clean(parts[0], 255), "fstype": clean(parts[1], 40),
                              "percent": int(m.group(1)) if m else None}
        return rows

    def parse(self, out, args):
        exempt = list(args.get("exempt_mounts") or [])
        space = self._table(section(out, "space", "df -P"), "df -P")
        inodes = self._table(section(out, "inodes", "df -Pi"), "df -Pi")
        if not space:
            raise ProbeError("unparsable", "df -P listed no filesystem")
        filesystems = []
        for mp, row in space.items():
            filesystems.append({"mountpoint": clean(mp, 4096), "device": row["device"], "fstype": row["fstype"],
                                "use_percent": row["percent"],
                                "inode_use_percent": inodes.get(mp, {}).get("percent")})
        judged = [f for f in filesystems if not _under(f["mountpoint"], exempt)]

        def fullest(key):
            vals = [f for f in judged if f[key] is not None]
            return max(vals, key=lambda f: f[key]) if vals else None

        fs, fi = fullest("use_percent"), fullest("inode_use_percent")
        return {
            "filesystems": filesystems,
            "max_use_percent": fs["use_percent"] if fs else 0,
            "fullest": fs["mountpoint"] if fs else None,
            # filesystems without inode counts (btrfs, vfat) report "-" and are not counted
            "max_inode_use_percent": fi["inode_use_percent"] if fi else 0,
            "fullest_inodes": fi["mountpoint"] if fi else None,
        }
