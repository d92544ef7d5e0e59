"""resource.package, resource.service, resource.process: one package, unit or process name given
by the control (``args: {name: …}``), batched like every resource (see resource_base)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean
from hardencheck.collect.probes.resource_base import ResourceProbe, item_loop
from hardencheck.collect.probes.base import Arg

PACKAGE_BODY = (
    "if command -v dpkg-query >/dev/null 2>&1; then echo 'manager dpkg'; echo 'status'; "
    "dpkg-query -W -f='${db:Status-Abbrev}|${Version}\\n' -- \"$n\" 2>/dev/null | head -n 20 | cut -c 1-200 | "
    "sed 's/^/| /'; "
    "elif command -v rpm >/dev/null 2>&1; then echo 'manager rpm'; echo 'status'; "
    "rpm -q --qf 'ii |%{VERSION}-%{RELEASE}\\n' -- \"$n\" 2>/dev/null | grep -a '^ii |' | head -n 20 | "
    "cut -c 1-200 | sed 's/^/| /'; "
    "else echo 'error command_missing neither dpkg-query nor rpm is installed'; fi"
)

SERVICE_BODY = (
    "if [ ! -d /run/systemd/system ]; then echo 'error command_missing this host does not run systemd "
    "(no /run/systemd/system): the state of a service cannot be read'; "
    "elif ! command -v systemctl >/dev/null 2>&1; then echo 'error command_missing systemctl is not installed'; "
    "else echo 'show'; systemctl show --no-pager -p Id -p LoadState -p ActiveState -p SubState "
    "-p UnitFileState -- \"$u\" 2>&1 | head -n 20 | cut -c 1-300 | sed 's/^/| /'; fi"
)

PROCESS_BODY = (
    "if ! command -v ps >/dev/null 2>&1; then echo 'error command_missing ps is not installed'; "
    "else echo 'ps'; ps -C \"$pn\" -o user=,pid= 2>/dev/null | head -n 200 | cut -c 1-200 | sed 's/^/| /'; "
    "echo 'done yes'; fi"
)

_DPKG = re.compile(r"^([a-z])([a-zA-Z])(.?)\s*\|(.*)$")


class ResourcePackage(ResourceProbe):
    name = "resource.package"
    summary = "A package named by the control: installed, version (dpkg or rpm)"
    timeout = 30
    required_args = ("name",)
    tools = {"items": ("dpkg-query", "rpm")}
    args = {"name": Arg("name", remote=True, doc="the package name (dpkg: name or name:arch)")}
    commands = {"items": item_loop(("n",), PACKAGE_BODY)}

    def parse(self, out, args):
        item = self.item(out, args)
        manager = item.get("manager")
        if manager not in ("dpkg", "rpm"):
            raise ProbeError("unparsable", f"{self.name}: no package manager line")
        versions = []
        for line in item.data.get("status", []):
            m = _DPKG.match(line)
            if not m:
                raise ProbeError("unparsable", f"{self.name}: unexpected line {clean(line, 60)!r}")
            if m.group(2) == "i":      # dpkg status "installed" (rpm lines are written as ii)
                versions.append(clean(m.group(4), 100))
        return {"name": args.get("name"), "manager": manager, "installed": bool(versions),
                "version": versions[0] if versions else None, "versions": versions}


class ResourceService(ResourceProbe):
    name = "resource.service"
    summary = ("A systemd unit named by the control: exists, enabled, active (error command_missing "
               "on a host without systemd)")
    timeout = 30
    required_args = ("name",)
    tools = {"items": ("systemctl",)}
    args = {"name": Arg("name", remote=True, doc="the unit (ssh, ssh.service, backup.timer)")}
    commands = {"items": item_loop(("u",), SERVICE_BODY)}

    def parse(self, out, args):
        item = self.item(out, args)
        if "show" not in item.fields:
            raise ProbeError("unparsable", f"{self.name}: no systemctl output")
        props: dict[str, str] = {}
        for line in item.data.get("show", []):
            key, sep, value = line.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z]{1,30}", key):
                raise ProbeError("probe_failed", f"systemctl show: {clean(line, 200)}")
            props[key] = clean(value, 100)
        if "LoadState" not in props or "ActiveState" not in props:
            raise ProbeError("unparsable", f"{self.name}: systemctl show printed no LoadState/ActiveState")
        state = props.get("UnitFileState") or None
        return {"name": args.get("name"), "unit": props.get("Id") or None,
                "exists": props["LoadState"] not in ("not-found", ""), "load_state": props["LoadState"],
                "active": props["ActiveState"] == "active", "active_state": props["ActiveState"],
                "sub_state": props.get("SubState") or None,
                "enabled": state in ("enabled", "enabled-runtime"), "unit_file_state": state}


class ResourceProcess(ResourceProbe):
    name = "resource.process"
    summary = "Processes by command name (ps -C): running, count, users, pids"
    timeout = 30
    required_args = ("name",)
    tools = {"items": ("ps",)}
    args = {"name": Arg("name", remote=True, doc="the command name as ps shows it (at most 15 characters)")}
    commands = {"items": item_loop(("pn",), PROCESS_BODY)}

    @classmethod
    def resolve_args(cls, given):
        out = super().resolve_args(given)
        if out["name"] is not None and len(out["name"]) > 15:
            raise ValueError("argument 'name': the kernel keeps at most 15 characters of a command name")
        return out

    def parse(self, out, args):
        item = self.item(out, args)
        if item.get("done") != "yes":
            raise ProbeError("incomplete_output", f"{self.name}: ps did not finish")
        users, pids = [], []
        for line in item.data.get("ps", []):
            words = line.split()
            if len(words) != 2 or not words[1].isdigit():
                raise ProbeError("unparsable", f"{self.name}: unexpected ps line {clean(line, 60)!r}")
            users.append(clean(words[0], 64))
            pids.append(int(words[1]))
        return {"name": args.get("name"), "running": bool(pids), "count": len(pids),
                "users": sorted(set(users)), "pids": sorted(pids)[:50]}
