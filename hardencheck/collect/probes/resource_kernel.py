"""resource.kernel_param and resource.mount: one sysctl or one mount point named by the control.

kernel_param: ``exists``, ``value`` (as the kernel prints it, whitespace collapsed), ``value_int``
(when it is one integer), and what the next boot sets: ``persisted`` (from the sysctl files, see
sysctl_files; null: nothing persists it), ``persisted_from`` (``file:line``), ``persisted_matches``
(the persisted value equals the runtime one, numbers compared as numbers), ``at_boot`` (the
persisted value, else the kernel's fixed default where kernel.sysctl knows one), ``at_boot_from``
and ``differs_at_boot``.

mount: ``mounted``, ``source``, ``fstype``, ``options`` (list, as /proc/self/mounts has them: the
kernel's view, the last mount on the path wins).
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.resource_base import ResourceProbe, item_loop
from hardencheck.collect.probes.base import Arg
from hardencheck.collect.probes.kernel_sysctl import KERNEL_DEFAULTS
from hardencheck.collect.probes.sysctl_files import PERSISTED_SNIPPET, effective, parse_listing

PARAM_BODY = (
    "f=/proc/sys/$(printf '%s' \"$kn\" | tr . /); "
    "if [ ! -e \"$f\" ]; then echo 'exists no'; elif [ -d \"$f\" ]; then echo 'exists no'; "
    "elif v=$(cat \"$f\" 2>/dev/null); then echo 'exists yes'; echo 'value'; "
    "printf '%s\\n' \"$v\" | head -n 20 | cut -c 1-500 | sed 's/^/| /'; "
    "else echo 'error permission_denied the parameter is not readable'; fi"
)

MOUNT_BODY = (
    "echo 'mounts'; P=$mp awk '$2 == ENVIRON[\"P\"] {print \"| \" $1 \" \" $3 \" \" $4}' /proc/self/mounts "
    "| tail -n 1 | cut -c 1-2000; echo 'done yes'"
)

_KEY = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,200}$", re.I)


class ResourceKernelParam(ResourceProbe):
    name = "resource.kernel_param"
    summary = "One kernel parameter (sysctl) named by the control: runtime value and the persisted one"
    timeout = 30
    required_args = ("name",)
    args = {"name": Arg("name", remote=True, doc="the sysctl name, e.g. net.ipv4.tcp_syncookies")}
    commands = {"items": item_loop(("kn",), PARAM_BODY), "persisted": PERSISTED_SNIPPET}

    @classmethod
    def resolve_args(cls, given):
        out = super().resolve_args(given)
        if out["name"] is not None and (not _KEY.match(out["name"]) or ".." in out["name"]):
            raise ValueError("argument 'name': a sysctl name like net.ipv4.ip_forward")
        return out

    def parse(self, out, args):
        item = self.item(out, args)
        name = args.get("name") or ""
        facts = {"name": name, "exists": item.get("exists") == "yes", "value": None, "value_int": None}
        if item.get("exists") not in ("yes", "no"):
            raise ProbeError("unparsable", f"{self.name}: no exists line")
        if facts["exists"]:
            value = " ".join(" ".join(item.data.get("value", [])).split())
            facts["value"] = clean(value, 500)
            facts["value_int"] = int(value) if re.fullmatch(r"-?[0-9]{1,19}", value) else None
        sec = complete_section(out, "persisted", "reading the sysctl configuration files")
        listing = parse_listing(sec.stdout)
        if listing.unreadable:
            raise ProbeError("permission_denied", f"sysctl configuration not readable: {', '.join(listing.unreadable[:3])}")
        setting = effective(listing, [name]).get(name)
        persisted = " ".join(setting.value.split()) if setting else None
        facts.update(persisted=persisted, persisted_from=setting.where if setting else None,
                     persisted_overrides=setting.overrides if setting else [],
                     persisted_matches=_same(persisted, facts["value"]))
        # the next boot: the persisted value, else the kernel's fixed default (kernel.sysctl's table)
        boot, boot_from = persisted, facts["persisted_from"]
        if boot is None and facts["exists"] and name in KERNEL_DEFAULTS:
            boot, boot_from = str(KERNEL_DEFAULTS[name]), "kernel default"
        facts.update(at_boot=boot, at_boot_from=boot_from, differs_at_boot=facts["exists"] and not _same(boot, facts["value"]))
        return facts


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    if re.fullmatch(r"-?[0-9]+", a) and re.fullmatch(r"-?[0-9]+", b):
        return int(a) == int(b)
    return a == b


def _unescape(text: str) -> str:
    """/proc/self/mounts writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _escape(path: str) -> str:
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


class ResourceMount(ResourceProbe):
    name = "resource.mount"
    summary = "A mount point named by the control: mounted, source, filesystem type, options"
    timeout = 30
    required_args = ("path",)
    args = {"path": Arg("path", remote=True, doc="the mount point (absolute path)")}
    commands = {"items": item_loop(("mp",), MOUNT_BODY)}

    @classmethod
    def remote_args(cls, args):
        path = args.get("path")
        return (_escape(path.rstrip("/") or "/") if path else "",)

    def parse(self, out, args):
        item = self.item(out, args)
        if item.get("done") != "yes":
            raise ProbeError("incomplete_output", f"{self.name}: reading /proc/self/mounts did not finish")
        facts = {"path": args.get("path"), "mounted": False, "source": None, "fstype": None, "options": None}
        lines = item.data.get("mounts", [])
        if lines:
            words = lines[-1].split(" ")
            if len(words) != 3:
                raise ProbeError("unparsable", f"{self.name}: unexpected mount line {clean(lines[-1], 80)!r}")
            facts.update(mounted=True, source=clean(_unescape(words[0]), 300), fstype=clean(words[1], 40),
                         options=[clean(_unescape(o), 100) for o in words[2].split(",") if o][:100])
        return facts
