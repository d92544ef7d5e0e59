"""raid.md: Linux software RAID (md) arrays and their health from /proc/mdstat (no root needed)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe

ABSENT = "HC_NO_MDSTAT"
_ARRAY = re.compile(r"^(md[A-Za-z0-9_/-]*|md_d\d+)\s*:\s*(\S+)(.*)$")
_DEVICE = re.compile(r"^([A-Za-z0-9_.:/!-]+)\[(\d+)\]((?:\([A-Z]\))*)$")
_DISKS = re.compile(r"\[(\d+)/(\d+)\]\s*\[([U_]+)\]")
_SYNC = re.compile(r"\b(resync|recovery|check|reshape|repair)\s*=\s*([0-9.]+%|[A-Z]+)")
_LEVELS = re.compile(r"^(raid\d+|linear|multipath|faulty|container)$")


class RaidMd(Probe):
    name = "raid.md"
    summary = "Linux md software RAID arrays from /proc/mdstat: degraded, failed members, resync"
    timeout = 10
    commands = {
        "mdstat": f"if [ -e /proc/mdstat ]; then cat /proc/mdstat; else echo {ABSENT}; fi",
    }

    def parse(self, out, args):
        sec = section(out, "mdstat", "/proc/mdstat")
        require_success(sec, "reading /proc/mdstat")
        text = sec.stdout
        if text.strip() == ABSENT:
            return {"present": False, "arrays": [], "degraded": [], "failed": [], "syncing": [],
                    "inactive": [], "mdstat": False}
        if not text.startswith("Personalities"):
            raise ProbeError("unparsable", "/proc/mdstat does not start with 'Personalities'")
        arrays = []
        current = None
        for raw in text.splitlines():
            line = raw.rstrip()
            if len(line) > 4096:
                raise ProbeError("unparsable", "/proc/mdstat: line too long")
            if not line.strip() or line.startswith("Personalities") or line.startswith("unused devices"):
                current = None if not line.strip() or line.startswith("unused") else current
                continue
            m = _ARRAY.match(line)
            if m:
                current = self._array(m.group(1), m.group(2), m.group(3))
                arrays.append(current)
                continue
            if current is None:
                if line.startswith((" ", "\t")) or line.startswith("read_ahead"):
                    continue
                raise ProbeError("unparsable", f"/proc/mdstat: unexpected line {line[:80]!r}")
            d = _DISKS.search(line)
            if d:
                current["raid_disks"], current["active_disks"] = int(d.group(1)), int(d.group(2))
                current["status"] = d.group(3)
            s = _SYNC.search(line)
            if s:
                current["sync_action"] = s.group(1)
                value = s.group(2)
                if value.endswith("%"):
                    current["sync_progress"], current["sync_state"] = value, "running"
                else:
                    current["sync_progress"], current["sync_state"] = None, value.lower()
        if len(arrays) > 1024:
            raise ProbeError("unparsable", "/proc/mdstat: implausibly many arrays")
        for a in arrays:
            if a["raid_disks"] is None and a["state"] != "inactive":
                # raid0/linear print no [n/m]: every listed non-spare member is a data disk
                members = len(a["devices"]) + len(a["failed_devices"])
                a["raid_disks"] = members
                a["active_disks"] = len(a["devices"])
            a["degraded"] = bool(
                (a["status"] and "_" in a["status"]) or
                (a["raid_disks"] is not None and a["active_disks"] is not None
                 and a["active_disks"] < a["raid_disks"]))
        return {
            "present": bool(arrays),
            "arrays": arrays,
            "degraded": [a["name"] for a in arrays if a["degraded"]],
            "failed": [a["name"] for a in arrays if a["failed_devices"]],
            "syncing": [a["name"] for a in arrays if a["sync_action"]],
            "inactive": [a["name"] for a in arrays if a["state"] == "inactive"],
            "mdstat": True,
        }

    @staticmethod
    def _array(name: str, state: str, rest: str) -> dict:
        words = rest.split()
        read_only = None
        while words and words[0].startswith("("):
            read_only = words.pop(0).strip("()")
        level = None
        if words and _LEVELS.match(words[0]):
            level = words.pop(0)
        devices, failed, spares = [], [], []
        for w in words:
            m = _DEVICE.match(w)
            if not m:
                raise ProbeError("unparsable", f"/proc/mdstat: bad member {w[:40]!r} of {name}")
            dev, flags = clean(m.group(1), 64), m.group(3)
            if "(F)" in flags:
                failed.append(dev)
            elif "(S)" in flags:
                spares.append(dev)
            else:
                devices.append(dev)
        return {
            "name": clean(name, 64), "state": clean(state, 32), "read_only": read_only,
            "level": level, "devices": devices, "failed_devices": failed, "spare_devices": spares,
            "raid_disks": None, "active_disks": None, "status": None, "degraded": False,
            "sync_action": None, "sync_progress": None, "sync_state": None,
        }
