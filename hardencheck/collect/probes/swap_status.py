"""swap.status: active swap areas and whether each one lies on a dm-crypt device (or zram).

A swap partition counts as encrypted when every path from it up the block-device tree (lsblk's
JSON lists a device once under each parent) passes a ``TYPE=crypt`` device; a swap file counts
when the filesystem holding it does. zram swap lives in compressed RAM and never reaches a disk.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, lsblk_devices, lsblk_walk
from hardencheck.collect.probes.base import Probe

_HEX = re.compile(r"\\x([0-9a-fA-F]{2})")
_ZRAM = re.compile(r"^zram\d+$")


def _unescape(text: str) -> str:
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), text)


class SwapStatus(Probe):
    name = "swap.status"
    summary = "Active swap areas (swapon) and whether each lies on dm-crypt or zram (lsblk tree)"
    timeout = 30
    tools = {"swaps": ("swapon",), "lsblk": ("lsblk",)}
    commands = {
        # per swap area: "swap <type> <name> <resolved device>"; a swap file's device is the
        # block device of the filesystem that holds it. Older util-linux lacks --show: /proc/swaps.
        "swaps": (
            "if l=$(swapon --show=NAME,TYPE --noheadings --raw 2>/dev/null); then :; "
            "elif [ -r /proc/swaps ]; then l=$(awk 'NR > 1 { print $1, $2 }' /proc/swaps); "
            "else echo 'swapon: not found' >&2; exit 127; fi; "
            "printf '%s\\n' \"$l\" | while read -r name type; do [ -n \"$name\" ] || continue; "
            "if [ \"$type\" = file ]; then dev=$(df -P -- \"$name\" 2>/dev/null | awk 'NR == 2 { print $1 }'); "
            "else dev=$name; fi; "
            "r=$(readlink -f -- \"$dev\" 2>/dev/null) || r=$dev; "
            "printf 'swap\\t%s\\t%s\\t%s\\n' \"$type\" \"$name\" \"${r:-?}\"; done"
        ),
        "lsblk": "command -v lsblk >/dev/null 2>&1 || exit 127; lsblk -J -o NAME,KNAME,TYPE",
    }

    def parse(self, out, args):
        sec = complete_section(out, "swaps", "listing swap areas", truncated="swap listing truncated")
        swaps = []
        for line in sec.stdout.splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 4 or parts[0] != "swap":
                raise ProbeError("unparsable", f"swap listing: unexpected line {line[:80]!r}")
            swaps.append((parts[1], _unescape(parts[2]), parts[3]))
        if not swaps:
            return {"active": False, "swaps": [], "unencrypted": []}

        devices = lsblk_devices(out)
        crypts: dict[str, list[bool]] = {}   # kname -> per occurrence: crypt ancestor (or self)?
        names: dict[str, str] = {}           # /dev/mapper/<name> -> kname
        for _dev, name, kname, crypt in lsblk_walk(devices):
            crypts.setdefault(kname, []).append(crypt is not None)
            names[name] = kname

        result, unencrypted = [], []
        for stype, name, resolved in swaps:
            kname = None
            if resolved.startswith("/dev/mapper/"):
                kname = names.get(resolved[len("/dev/mapper/"):])
            elif resolved.startswith("/dev/"):
                base = resolved[len("/dev/"):]
                kname = base if base in crypts else names.get(base)
            zram = bool(kname and _ZRAM.match(kname))
            if zram:
                encrypted = None
            elif kname in crypts:
                encrypted = all(crypts[kname])
            else:
                encrypted = False   # a device lsblk does not know cannot be shown to be encrypted
            entry = {"name": clean(name, 4096), "type": clean(stype, 20),
                     "device": clean(kname, 255) if kname else None, "zram": zram,
                     "encrypted": encrypted}
            result.append(entry)
            if not zram and not encrypted:
                unencrypted.append(entry["name"])
        return {"active": True, "swaps": result, "unencrypted": unencrypted}
