"""patches.status: pending (security) updates, package index age, pending reboot.

Nothing is installed or refreshed: apt only lists what its existing index offers, dnf/yum only
read their existing cache (``--cacheonly``). The index age tells the control whether the answer
can be trusted.

apt: ``apt list --upgradable`` names each upgradable package's candidate version and the suites
(archives) that offer it, e.g. ``bookworm-security`` or ``jammy-updates,jammy-security``; a
candidate from a ``-security`` suite is a pending security update. It costs the host a fraction
of the ``apt-get -s dist-upgrade`` simulation used before (no dependency resolution; see
bench/host_cost.py), with the same packages and the same security flags on the lab and on a
full Debian 12 index. Unlike the simulation it also lists held packages (``apt-mark hold``):
a held security update is pending. ``apt list`` does not notice an interrupted dpkg run as
``apt-get`` does, so the section checks ``/var/lib/dpkg/updates`` itself and fails the same way.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, epoch, iso_utc, require_success, require_whole, section
from hardencheck.collect.probes.base import Probe

# pkg/suite[,suite2] new-version arch [upgradable from: old-version]
_UPGRADABLE = re.compile(r"^([a-z0-9][a-z0-9+.-]*)/(\S+) (\S+) (\S+) \[upgradable from: ([^\]]+)\]$")
_SECURITY_ORIGIN = re.compile(r"(-security\b|^Debian-Security:|^Ubuntu-Security)", re.I)
_RPM_ARCHES = re.compile(r"\.(x86_64|noarch|i686|i386|aarch64|ppc64le|s390x|armv7hl|src)$")


def _split_nevra(nevra: str) -> tuple[str, str]:
    """'openssl-libs-1:3.0.7-16.el9_2.x86_64' -> ('openssl-libs', '1:3.0.7-16.el9_2')."""
    base = _RPM_ARCHES.sub("", nevra)
    parts = base.rsplit("-", 2)
    if len(parts) != 3:
        return base, ""
    return parts[0], f"{parts[1]}-{parts[2]}"


def _version_key(v: str):
    """Close to GNU ``sort -V`` for kernel release strings."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"\d+|[^\d]+", v)]


class PatchesStatus(Probe):
    name = "patches.status"
    summary = "Pending (security) updates from apt/dnf/yum, package index age, pending reboot"
    timeout = 180
    max_output_bytes = 1024 * 1024
    tools = {"manager": ("apt-get", "dnf", "yum", "zypper", "apk", "pacman"), "apt_upgradable": ("apt", "ls"),
             "dnf_security": ("dnf", "yum"), "dnf_updates": ("dnf", "yum")}
    commands = {
        "manager": "for m in apt-get dnf yum zypper apk pacman; do "
                   "command -v $m >/dev/null 2>&1 && echo $m; done; exit 0",
        # apt's own exit code is kept; an interrupted dpkg run fails as apt-get would say it
        "apt_upgradable": (
            "command -v apt >/dev/null 2>&1 || exit 127; "
            "if [ -n \"$(ls -A /var/lib/dpkg/updates 2>/dev/null)\" ]; then echo \"E: dpkg was interrupted, "
            "you must manually run 'dpkg --configure -a' to correct the problem.\" >&2; exit 100; fi; "
            "exec apt -o APT::Color=0 list --upgradable"
        ),
        "dnf_security": (
            "if command -v dnf >/dev/null 2>&1; then dnf -q --cacheonly updateinfo list --security; "
            "elif command -v yum >/dev/null 2>&1; then yum -q --cacheonly updateinfo list security; "
            "else exit 127; fi"
        ),
        # exit 100: updates available
        "dnf_updates": (
            "if command -v dnf >/dev/null 2>&1; then dnf -q --cacheonly check-update; "
            "elif command -v yum >/dev/null 2>&1; then yum -q --cacheonly check-update; "
            "else exit 127; fi"
        ),
        "index": (
            "for f in /var/lib/apt/lists/*Release*; do [ -e \"$f\" ] && printf 'apt %s\\n' \"$(stat -c %Y \"$f\")\"; done; "
            "for f in /var/cache/dnf/*/repodata/repomd.xml /var/cache/dnf/*.solv "
            "/var/cache/libdnf5/*/repodata/repomd.xml /var/cache/yum/*/*/*/repomd.xml; do "
            "[ -e \"$f\" ] && printf 'rpm %s\\n' \"$(stat -c %Y \"$f\")\"; done; exit 0"
        ),
        "reboot": (
            "if [ -e /var/run/reboot-required ]; then echo 'reboot-required yes'; "
            "if [ -r /var/run/reboot-required.pkgs ]; then sed -n '1,50s/^/pkg /p' /var/run/reboot-required.pkgs; fi; "
            "else echo 'reboot-required no'; fi"
        ),
        "kernels": (
            "printf 'running %s\\n' \"$(uname -r)\"; "
            "for f in /boot/vmlinuz-*; do [ -e \"$f\" ] || continue; v=${f#/boot/vmlinuz-}; "
            "case $v in *rescue*) continue;; esac; printf 'installed %s\\n' \"$v\"; done; "
            "n=$(for f in /boot/vmlinuz-*; do [ -e \"$f\" ] && echo \"${f#/boot/vmlinuz-}\"; done "
            "| grep -av rescue | sort -V 2>/dev/null | tail -n 1); "
            "[ -n \"$n\" ] && printf 'newest %s\\n' \"$n\"; exit 0"
        ),
    }

    def parse(self, out, args):
        msec = section(out, "manager", "package manager detection")
        require_success(msec, "package manager detection")
        found = [w for w in msec.stdout.split() if w in ("apt-get", "dnf", "yum", "zypper", "apk", "pacman")]
        if "apt-get" in found:
            manager = "apt"
        elif "dnf" in found:
            manager = "dnf"
        elif "yum" in found:
            manager = "yum"
        else:
            other = ", ".join(found) or "none"
            raise ProbeError("command_missing",
                             f"no supported package manager (apt-get, dnf, yum) found (found: {other})")

        if manager == "apt":
            security, update_count = self._apt(section(out, "apt_upgradable", "apt list --upgradable"))
        else:
            security, update_count = self._dnf(
                section(out, "dnf_security", f"{manager} updateinfo list --security"),
                section(out, "dnf_updates", f"{manager} check-update"), manager)

        isec = section(out, "index", "package index timestamps")
        require_success(isec, "package index timestamps")
        tag = "apt" if manager == "apt" else "rpm"
        stamps = []
        for line in isec.stdout.splitlines():
            kind, _, value = line.partition(" ")
            if kind == tag and value.strip():
                stamps.append(epoch(value, "package index mtime"))
        index_updated_at = iso_utc(max(stamps)) if stamps else None

        rsec = section(out, "reboot", "/var/run/reboot-required")
        require_success(rsec, "checking /var/run/reboot-required")
        lines = rsec.stdout.splitlines()
        if not lines or lines[0].strip() not in ("reboot-required yes", "reboot-required no"):
            raise ProbeError("unparsable", "reboot-required check printed something unexpected")
        reasons = []
        flag = lines[0].strip() == "reboot-required yes"
        if flag:
            pkgs = sorted({clean(l[4:], 100) for l in lines[1:] if l.startswith("pkg ") and l[4:].strip()})
            reasons.append("/var/run/reboot-required exists" + (f" ({', '.join(pkgs)})" if pkgs else ""))

        ksec = section(out, "kernels", "installed kernels")
        require_success(ksec, "listing installed kernels")
        running, installed, newest = None, [], None
        for line in ksec.stdout.splitlines():
            key, _, value = line.partition(" ")
            value = value.strip()
            if key == "running" and running is None:
                running = value
            elif key == "installed" and value:
                installed.append(value)
            elif key == "newest" and value:
                newest = value
        if not running:
            raise ProbeError("unparsable", "uname -r printed nothing")
        if installed:
            if newest not in installed:
                newest = max(installed, key=_version_key)
        else:
            newest = None
        kernel_pending = newest is not None and newest != running
        if kernel_pending:
            reasons.append(f"newest installed kernel {clean(newest, 100)} is not the running "
                           f"kernel {clean(running, 100)}")
        return {
            "manager": manager,
            "security_updates": security,
            "security_update_count": len(security),
            "update_count": update_count,
            "index_updated_at": index_updated_at,
            "reboot_required": flag or kernel_pending,
            "reboot_reasons": reasons,
            "running_kernel": clean(running, 100),
            "newest_installed_kernel": clean(newest, 100) if newest else None,
            "installed_kernels": sorted({clean(k, 100) for k in installed}, key=_version_key),
        }

    @staticmethod
    def _apt(sec):
        what = "apt list --upgradable"
        require_whole(sec, what)
        lines = sec.stdout.splitlines()
        if not lines or not lines[0].startswith("Listing..."):
            raise ProbeError("unparsable", f"{what}: no 'Listing...' line (apt did not list)")
        packages, security = {}, {}
        for line in lines[1:]:
            if not line.strip() or line.startswith("Listing..."):
                continue
            m = _UPGRADABLE.match(line)
            if not m:
                raise ProbeError("unparsable", f"{what}: unexpected line {line[:100]!r}")
            pkg, suites, new = m.group(1), m.group(2), m.group(3)
            packages[pkg] = new
            for suite in suites.split(","):
                if _SECURITY_ORIGIN.search(suite):
                    security.setdefault(pkg, {"package": clean(pkg, 200), "version": clean(new, 200),
                                              "source": clean(suite, 200)})
                    break
        return sorted(security.values(), key=lambda s: s["package"]), len(packages)

    @staticmethod
    def _dnf(ssec, usec, manager):
        what = f"{manager} updateinfo list --security"
        cut = f"{manager}: output truncated"
        require_whole(ssec, what, cut)
        require_whole(usec, f"{manager} check-update", cut, ok_codes=(0, 100))
        security: dict[str, dict] = {}
        for line in ssec.stdout.splitlines():
            f = line.split()
            if not f or f[0] in ("Name", "Last") or line.startswith(("Updating", "Loaded plugins",
                                                                      "updateinfo list done")):
                continue
            if len(f) >= 4 and f[1].lower() == "security":      # dnf5: id type severity package issued
                adv, nevra = f[0], f[3]
            elif len(f) == 3 and ("/sec" in f[1].lower() or f[1].lower() == "security"):  # dnf4/yum
                adv, nevra = f[0], f[2]
            elif len(f) == 3 and f[1].lower().endswith("/sec."):
                adv, nevra = f[0], f[2]
            else:
                raise ProbeError("unparsable", f"{what}: unexpected line {line[:100]!r}")
            name, version = _split_nevra(nevra)
            entry = security.get(name)
            if entry is None:
                security[name] = {"package": clean(name, 200), "version": clean(version, 200),
                                  "source": clean(adv, 100)}
            elif adv not in entry["source"].split(", "):
                entry["source"] = clean(entry["source"] + ", " + adv, 400)
                if _version_key(version) > _version_key(entry["version"]):
                    entry["version"] = clean(version, 200)
        updates = set()
        for line in usec.stdout.splitlines():
            if line.startswith(("Obsoleting Packages", "Security:")):
                break
            f = line.split()
            if len(f) == 3 and "." in f[0] and not line.startswith(" "):
                updates.add(f[0])
        if usec.exit_code == 100 and not updates:
            raise ProbeError("unparsable", f"{manager} check-update: exit 100 but no package lines")
        return sorted(security.values(), key=lambda s: s["package"]), len(updates)
