"""kernel.sysctl: current values of a fixed list of kernel parameters, read from /proc/sys.

The fact is a tree following the sysctl names, so a control addresses a value by its usual name
(``net.ipv4.conf.all.rp_filter``). Values are integers; a parameter this kernel does not have
(``net.ipv6.*`` without an IPv6 stack) is ``null``. ``net.*`` values belong to the network
namespace the probe runs in; ``kernel.*`` and ``fs.*`` are the machine's own.

Beside the runtime value, what the next boot will set: ``persisted`` (the same tree) holds the value
the sysctl configuration files give each key (``null``: no file sets it, so a runtime change is
lost at the next reboot), ``persisted_from`` where it comes from (``file:line``), and
``not_persisted`` lists the keys whose runtime value differs from it. The files are read as
systemd-sysctl and ``sysctl --system`` do (see ``sysctl_files``).

``at_boot`` (the same tree) is the value the next boot gives: the persisted one, else the kernel's
own default where that is fixed in the kernel source for decades (``KERNEL_DEFAULTS``: forwarding
off, redirects accepted and sent, rp_filter off, SYN cookies on), else ``null`` (unknown: e.g.
``kernel.randomize_va_space``, whose default depends on the kernel's build). ``at_boot_from`` says
which (``file:line`` or ``kernel default``), and ``differs_at_boot`` lists the keys whose runtime
value the next boot changes or may change: a hardening done with ``sysctl -w`` only.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import complete_section, require_success, section
from hardencheck.collect.probes.base import Probe
from hardencheck.collect.probes.sysctl_files import PERSISTED_SNIPPET, effective, parse_listing

KEYS = (
    "net.ipv4.ip_forward",
    "net.ipv6.conf.all.forwarding",
    "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.conf.default.accept_redirects",
    "net.ipv4.conf.all.secure_redirects",
    "net.ipv4.conf.default.secure_redirects",
    "net.ipv6.conf.all.accept_redirects",
    "net.ipv6.conf.default.accept_redirects",
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.default.send_redirects",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
    "net.ipv4.conf.all.accept_source_route",
    "net.ipv4.conf.default.accept_source_route",
    "net.ipv4.conf.all.log_martians",
    "net.ipv4.icmp_echo_ignore_broadcasts",
    "net.ipv4.icmp_ignore_bogus_error_responses",
    "net.ipv4.tcp_syncookies",
    "net.ipv6.conf.all.accept_ra",
    "net.ipv6.conf.default.accept_ra",
    "kernel.randomize_va_space",
    "kernel.kptr_restrict",
    "kernel.dmesg_restrict",
    "kernel.yama.ptrace_scope",
    "kernel.unprivileged_bpf_disabled",
    "kernel.sysrq",
    "fs.protected_hardlinks",
    "fs.protected_symlinks",
    "fs.protected_fifos",
    "fs.protected_regular",
    "fs.suid_dumpable",
)

ABSENT = "-"
#: compiled-in defaults that do not depend on the kernel's build (include/net/ipv4 devconf init)
KERNEL_DEFAULTS = {
    "net.ipv4.ip_forward": 0, "net.ipv6.conf.all.forwarding": 0,
    "net.ipv4.conf.all.accept_redirects": 1, "net.ipv4.conf.default.accept_redirects": 1,
    "net.ipv4.conf.all.secure_redirects": 1, "net.ipv4.conf.default.secure_redirects": 1,
    "net.ipv6.conf.all.accept_redirects": 1, "net.ipv6.conf.default.accept_redirects": 1,
    "net.ipv4.conf.all.send_redirects": 1, "net.ipv4.conf.default.send_redirects": 1,
    "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv4.tcp_syncookies": 1,
}
_PATHS = " ".join(k.replace(".", "/") for k in KEYS)


def _set(tree: dict, key: str, value) -> None:
    parts = key.split(".")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


class KernelSysctl(Probe):
    name = "kernel.sysctl"
    summary = "Kernel parameters from /proc/sys (forwarding, redirects, rp_filter, ASLR, kptr, links…)"
    timeout = 15
    max_output_bytes = 512 * 1024     # the sysctl files of a host with many drop-ins
    commands = {
        # one "path value" line per key; "-" for a key this kernel lacks; exit 13 if one is unreadable
        "values": (
            "rc=0; for k in " + _PATHS + "; do f=/proc/sys/$k; "
            "if [ ! -e \"$f\" ]; then printf '%s -\\n' \"$k\"; continue; fi; "
            "if v=$(cat \"$f\" 2>/dev/null); then printf '%s %s\\n' \"$k\" \"$v\"; "
            "else echo \"$f: Permission denied\" >&2; rc=13; fi; done; exit $rc"
        ),
        # the sysctl configuration files: "F <file>" then grep -n's "<line>:<text>" of each setting
        "persisted": PERSISTED_SNIPPET,
    }

    def parse(self, out, args):
        sec = section(out, "values", "reading /proc/sys")
        if sec.exit_code == 13:
            raise ProbeError("permission_denied", "some /proc/sys values were not readable")
        require_success(sec, "reading /proc/sys")
        seen: dict[str, int | None] = {}
        wanted = {k.replace(".", "/"): k for k in KEYS}
        for raw in sec.stdout.splitlines():
            line = raw.strip()
            if not line:
                continue
            path, _, value = line.partition(" ")
            key = wanted.get(path)
            if key is None or key in seen:
                raise ProbeError("unparsable", f"/proc/sys: unexpected line {line[:60]!r}")
            value = value.strip()
            if value == ABSENT:
                seen[key] = None
            elif re.fullmatch(r"-?\d{1,12}", value):
                seen[key] = int(value)
            else:
                raise ProbeError("unparsable", f"{key}: not an integer ({value[:40]!r})")
        missing = [k for k in KEYS if k not in seen]
        if missing:
            raise ProbeError("incomplete_output", f"/proc/sys: no value for {', '.join(missing[:3])}")
        if seen["kernel.randomize_va_space"] is None:
            raise ProbeError("probe_failed", "/proc/sys is not mounted (kernel.randomize_va_space absent)")
        tree: dict = {}
        for key in KEYS:
            _set(tree, key, seen[key])
        tree["ipv6_present"] = seen["net.ipv6.conf.all.forwarding"] is not None
        tree.update(_persisted(out, seen))
        return tree


def _persisted(out, runtime: dict) -> dict:
    """``persisted``, ``persisted_from``, ``not_persisted``, ``at_boot``, ``at_boot_from``,
    ``differs_at_boot`` and ``persisted_unreadable`` (files the probe could not read: then nothing
    is known to persist, every persisted and at-boot value is null)."""
    names = ("persisted", "persisted_from", "not_persisted", "at_boot", "at_boot_from", "differs_at_boot",
             "persisted_unreadable")
    sec = out.get("persisted")
    if sec is None:   # a recording from before this section existed: nothing is known
        return dict.fromkeys(names)
    sec = complete_section(out, "persisted", "reading the sysctl configuration files")
    listing = parse_listing(sec.stdout)
    found = effective(listing, KEYS) if not listing.unreadable else {}
    trees: dict[str, dict] = {n: {} for n in names[:6] if n not in ("not_persisted", "differs_at_boot")}
    differ, lost = [], []
    for key in KEYS:
        setting = found.get(key)
        value = setting.value if setting else None
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value):
            value = int(value)
        boot, boot_from = value, setting.where if setting else None
        if setting is None and runtime[key] is not None and key in KERNEL_DEFAULTS and not listing.unreadable:
            boot, boot_from = KERNEL_DEFAULTS[key], "kernel default"
        if runtime[key] is None:         # this kernel has no such parameter (no IPv6 stack)
            boot, boot_from = None, None
        for name, v in (("persisted", value), ("persisted_from", setting.where if setting else None),
                        ("at_boot", boot), ("at_boot_from", boot_from)):
            _set(trees[name], key, v)
        if runtime[key] is not None and value != runtime[key]:
            differ.append(key)
        if runtime[key] is not None and boot != runtime[key]:
            lost.append(key)
    return {**trees, "not_persisted": differ, "differs_at_boot": lost,
            "persisted_unreadable": listing.unreadable}
