"""disk.encryption: which data-bearing filesystems sit on a dm-crypt (LUKS) device.

A filesystem counts as encrypted when *every* path from it up the block-device tree passes a
``TYPE=crypt`` device (an LV spanning one encrypted and one plain PV is not encrypted). lsblk's
JSON tree lists a device once under each of its parents, so the paths come for free.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, lsblk_devices, lsblk_walk, require_success, section
from hardencheck.collect.probes.base import Arg, Probe

IMAGE_FS = {"squashfs", "iso9660", "udf", "erofs", "cramfs"}
_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape_mount(text: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


def _under(path: str, roots: list[str]) -> bool:
    for r in roots:
        r = r.rstrip("/") or "/"
        if path == r or (r != "/" and path.startswith(r + "/")):
            return True
    return False


class DiskEncryption(Probe):
    name = "disk.encryption"
    summary = "Mounted block-device filesystems and whether each one lies on a dm-crypt device"
    timeout = 30
    args = {
        "exempt_mounts": Arg("path_list", default=["/boot", "/boot/efi"], remote=False,
                             doc="mountpoints (and what is mounted below them) that need no encryption"),
    }
    tools = {"lsblk": ("lsblk",)}
    commands = {
        # util-linux >= 2.37 knows MOUNTPOINTS (all mountpoints of a device); older ones only MOUNTPOINT
        "lsblk": (
            "command -v lsblk >/dev/null 2>&1 || exit 127; "
            "lsblk -J -o NAME,KNAME,TYPE,FSTYPE,MOUNTPOINTS 2>/dev/null || "
            "lsblk -J -o NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT"
        ),
        "mounts": "cat /proc/self/mounts",
    }

    def parse(self, out, args):
        exempt_roots = list(args.get("exempt_mounts") or [])
        devices = lsblk_devices(out)

        msec = section(out, "mounts", "/proc/self/mounts")
        require_success(msec, "reading /proc/self/mounts")
        mounts: list[tuple[str, str, str]] = []   # (source, mountpoint, fstype)
        for line in msec.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3:
                mounts.append((_unescape_mount(parts[0]), _unescape_mount(parts[1]), parts[2]))
        if not mounts:
            raise ProbeError("unparsable", "/proc/self/mounts: no mount lines")

        # walk the tree: every occurrence of a device with the chain of crypt ancestors
        nodes: dict[str, dict] = {}
        for dev, name, kname, crypt in lsblk_walk(devices):
            dtype = dev.get("type") if isinstance(dev.get("type"), str) else None
            mps = dev.get("mountpoints")
            if mps is None and "mountpoint" in dev:
                mps = [dev.get("mountpoint")]
            if not isinstance(mps, list):
                mps = []
            node = nodes.setdefault(kname, {"name": name, "kname": kname, "type": dtype,
                                            "fstype": dev.get("fstype") if isinstance(dev.get("fstype"), str) else None,
                                            "mountpoints": set(), "crypts": []})
            node["mountpoints"].update(m for m in mps if isinstance(m, str) and m)
            node["crypts"].append(crypt)

        # mounts that lsblk did not show (other mount namespace, old lsblk), fstype fallback
        by_path = {}
        for node in nodes.values():
            by_path["/dev/" + node["kname"]] = node
            by_path["/dev/mapper/" + node["name"]] = node
        mount_fstype = {}
        for source, mountpoint, fstype in mounts:
            node = by_path.get(source)
            if node is not None:
                node["mountpoints"].add(mountpoint)
                mount_fstype[(node["kname"], mountpoint)] = fstype

        filesystems, unencrypted, exempt = [], [], []
        for node in nodes.values():
            for mp in sorted(node["mountpoints"]):
                if mp == "[SWAP]":
                    continue
                fstype = node["fstype"] or mount_fstype.get((node["kname"], mp))
                encrypted = all(c is not None for c in node["crypts"])
                crypt_device = next((c for c in node["crypts"] if c), None) if encrypted else None
                entry = {
                    "mountpoint": clean(mp, 4096),
                    "device": clean(node["name"], 255),
                    "fstype": clean(fstype, 40) if fstype else None,
                    "encrypted": encrypted,
                    "crypt_device": clean(crypt_device, 255) if crypt_device else None,
                }
                filesystems.append(entry)
                if _under(mp, exempt_roots):
                    exempt.append(entry["mountpoint"])
                elif (fstype or "") in IMAGE_FS:
                    continue
                elif not encrypted:
                    unencrypted.append(entry["mountpoint"])
        filesystems.sort(key=lambda f: (f["mountpoint"], f["device"]))
        return {
            "filesystems": filesystems,
            "unencrypted": sorted(set(unencrypted)),
            "exempt": sorted(set(exempt)),
        }
