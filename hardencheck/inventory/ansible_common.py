"""What the two Ansible formats (YAML and INI) share.

* ``ansible_vars_to_native``: Ansible variables (``ansible_host``, ``ansible_port``,
  ``ansible_ssh_common_args``, ``hardencheck_*`` ...) -> native keys; passwords are refused,
  ssh options that run local commands are refused.
* ``expand_host_pattern``: Ansible host ranges (``web[01:03].example.com``).
* ``AnsibleBuilder``: collects groups and hosts in declaration order and hands them to the merge
  (``all`` becomes the defaults, ``ungrouped`` is not a group of its own).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import string
from typing import Any, Callable

from hardencheck.inventory.merge import build_hosts
from hardencheck.inventory.model import Host, check_name
from hardencheck.inventory.schema import CONN_KEYS
from hardencheck.inventory.source import Collector, Layer
from hardencheck.inventory.vault import is_vaulted, message as vault_message
from hardencheck.yaml_source import dotted, line_of

_PASSWORD_VARS = {"ansible_password", "ansible_ssh_pass", "ansible_ssh_password",
                  "ansible_become_password", "ansible_become_pass", "ansible_sudo_pass",
                  "ansible_sudo_password", "ansible_su_pass", "ansible_su_password"}
_ANSIBLE_MAP = {
    "ansible_host": "address", "ansible_ssh_host": "address",
    "ansible_port": "port", "ansible_ssh_port": "port",
    "ansible_user": "user", "ansible_ssh_user": "user", "ansible_remote_user": "user",
    "ansible_ssh_private_key_file": "identity_file", "ansible_private_key_file": "identity_file",
    "ansible_become": "become", "ansible_sudo": "become",
    "ansible_timeout": "connect_timeout", "ansible_ssh_timeout": "connect_timeout",
}
_SSH_ARGS_VARS = ("ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args")
# ssh options that make ssh run a local command (or read more config that could)
_COMMAND_OPTIONS = {"proxycommand", "localcommand", "permitlocalcommand", "knownhostscommand",
                    "remotecommand", "match", "include", "controlpath", "controlmaster",
                    "securitykeyprovider", "pkcs11provider", "xauthlocation"}
_BOOL_KEYS = {"identities_only", "become"}
_INT_KEYS = {"port", "jump_max_sessions"}
_FLOAT_KEYS = {"connect_timeout", "command_timeout"}
_STRUCT_KEYS = {"params", "vars", "tags"}


def _coerce(key: str, value: Any) -> Any:
    """INI and Ansible values are often strings: convert the ones whose type we know."""
    if not isinstance(value, str):
        return value
    s = value.strip()
    if key in _BOOL_KEYS:
        low = s.lower()
        if low in ("yes", "true", "on", "1"):
            return True
        if low in ("no", "false", "off", "0"):
            return False
    elif key in _INT_KEYS and s.isdigit():
        return int(s)
    elif key in _FLOAT_KEYS:
        try:
            return float(s)
        except ValueError:
            pass
    elif key in _STRUCT_KEYS:
        for parse in (json.loads, ast.literal_eval):
            try:
                return parse(s)
            except (ValueError, SyntaxError, TypeError):
                pass
    return value


def _ssh_args_to_jump(value: Any) -> str | None:
    """``-o ProxyJump=x`` / ``-J x`` -> ``x``; command-capable options -> ValueError."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    try:
        argv = shlex.split(value)
    except ValueError as e:
        raise ValueError(f"cannot be parsed: {e}") from None
    jump = None
    i = 0
    while i < len(argv):
        a = argv[i]
        opt = None
        if a == "-o" or a == "-J":
            if i + 1 >= len(argv):
                raise ValueError(f"{a} needs an argument")
            arg = argv[i + 1]
            i += 2
        elif a.startswith("-o") or a.startswith("-J"):
            arg = a[2:]
            i += 1
        elif a == "-F" or a.startswith("-F"):
            raise ValueError("-F (another ssh config file) is not supported; use --ssh-config")
        else:
            i += 1          # other flags: nothing we act on (we never forward agents, etc.)
            continue
        if a.startswith("-J"):
            jump = arg
            continue
        m = re.match(r"^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$", arg)
        if not m:
            raise ValueError(f"cannot parse ssh option {arg!r}")
        opt, optval = m.group(1).lower(), m.group(2).strip()
        if opt in _COMMAND_OPTIONS:
            raise ValueError(f"ssh option {m.group(1)} is refused: hardencheck never runs "
                             "local commands from inventory data (use ProxyJump for bastions)")
        if opt == "proxyjump":
            jump = optval
    return jump


def ansible_vars_to_native(vars_: dict, col: Collector, report: Callable[[str, str], None]
                           ) -> tuple[dict, dict]:
    """Ansible variables -> (native layer data, native key -> source key)."""
    data: dict = {}
    key_map: dict = {}
    free: dict = {}
    for k, v in vars_.items():
        if not isinstance(k, str):
            report(str(k), "variable names must be strings")
            continue
        lk = k.lower()
        if is_vaulted(v):
            report(k, vault_message(k))
            continue
        if lk in _PASSWORD_VARS:
            if v not in (None, ""):
                report(k, "passwords are not read from inventories; use sudo_password_env")
            continue
        if lk in _ANSIBLE_MAP:
            nk = _ANSIBLE_MAP[lk]
            data[nk] = _coerce(nk, v)
            key_map[nk] = k
        elif lk in _SSH_ARGS_VARS:
            try:
                j = _ssh_args_to_jump(v)
            except ValueError as e:
                report(k, str(e))
                continue
            if j is not None:
                data["jump"] = j
                key_map["jump"] = k
        elif lk == "ansible_become_method":
            if v not in (None, "sudo"):
                report(k, "only become via sudo is supported")
        elif lk == "ansible_become_user":
            if v not in (None, "root"):
                report(k, "only become to root is supported")
        elif lk == "ansible_connection":
            if v in ("ssh", "paramiko", "smart"):
                data["transport"] = "ssh"
            elif v == "local":
                data["transport"] = "local"
            else:
                report(k, f"connection {v!r} is not supported (ssh or local)")
                continue
            key_map["transport"] = k
        elif lk == "hardencheck_params":
            data["params"] = _coerce("params", v)
            key_map["params"] = k
        elif lk.startswith("hardencheck_"):
            nk = lk[len("hardencheck_"):]
            if nk not in CONN_KEYS + ("tags",):
                report(k, f"unknown hardencheck variable {k!r}")
                continue
            data[nk] = _coerce(nk, v)
            key_map[nk] = k
        else:
            free[k] = v
    if free:
        data["vars"] = free
    return data, key_map


# Ansible host patterns: web[01:03].example.com, db-[a:c], host[1:10:2]
_RANGE_RE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")


def expand_host_pattern(pattern: str) -> list[str]:
    m = _RANGE_RE.search(pattern)
    if not m:
        if "[" in pattern or "]" in pattern:
            raise ValueError(f"invalid host range in {pattern!r}")
        return [pattern]
    head, tail = pattern[:m.start()], pattern[m.end():]
    beg, end, step = m.group(1), m.group(2), int(m.group(3) or 1)
    if step < 1:
        raise ValueError(f"invalid range step in {pattern!r}")
    if beg.isdigit() and end.isdigit():
        width = len(beg) if beg.startswith("0") else 0
        lo, hi = int(beg), int(end)
        if hi < lo or hi - lo > 100000:
            raise ValueError(f"invalid range in {pattern!r}")
        items = [str(i).zfill(width) for i in range(lo, hi + 1, step)]
    elif len(beg) == 1 and len(end) == 1 and beg.isalpha() and end.isalpha():
        letters = string.ascii_letters
        lo, hi = letters.index(beg), letters.index(end)
        if hi < lo:
            raise ValueError(f"invalid range in {pattern!r}")
        items = [letters[i] for i in range(lo, hi + 1, step)]
    else:
        raise ValueError(f"invalid range in {pattern!r}")
    return [head + it + rest for it in items for rest in expand_host_pattern(tail)]


def _split_host_port(entry: str) -> tuple[str, int | None]:
    """Ansible allows ``host:port`` in inventories (``[::1]:22`` for IPv6)."""
    if entry.startswith("["):
        m = re.match(r"^\[([^\]]+)\](?::(\d+))?$", entry)
        if m and ":" in m.group(1):
            return m.group(1), int(m.group(2)) if m.group(2) else None
        return entry, None
    if entry.count(":") == 1:
        name, port = entry.split(":")
        if port.isdigit():
            return name, int(port)
    return entry, None


class AnsibleBuilder:
    """Collects groups and hosts in declaration order (shared by the YAML, INI and JSON readers)."""

    UNGROUPED = "ungrouped"

    def __init__(self, col: Collector, root: Any = None):
        self.col = col
        self.root = root
        self.defaults: list[Layer] = []
        self.groups: dict[str, Layer] = {}
        self.hosts: list[Layer] = []
        self.group_hosts: dict[str, list[str]] = {}
        self.children: dict[str, list[str]] = {}

    def group(self, name: str, path: tuple, line: int | None) -> Layer:
        if name not in self.groups:
            self.groups[name] = Layer("group", name, {}, path, line=line, root=self.root,
                                       order=len(self.groups))
            self.group_hosts[name] = []
            self.children[name] = []
        return self.groups[name]

    def add_vars(self, layer: Layer, vars_: dict, path: tuple, lines: dict | None = None,
                 line: int | None = None) -> None:
        def report(k, msg):
            if self.root is not None:
                self.col.add(msg, line_of(self.root, path + (k,)), dotted(path + (k,)))
            else:
                self.col.add(msg, (lines or {}).get(k, line), dotted(path + (k,)))
        data, key_map = ansible_vars_to_native(vars_, self.col, report)
        if layer.kind == "group" and "ansible_group_priority" in data.get("vars", {}):
            # Ansible sorts groups of the same depth by it (inventory sources only)
            prio = data["vars"].pop("ansible_group_priority")
            try:
                layer.priority = int(prio)
            except (TypeError, ValueError):
                report("ansible_group_priority", "must be a whole number")
            if not data["vars"]:
                del data["vars"]
        # a later vars block of the same group gets its own layer position in the error path
        if layer.data:
            for k, v in data.items():
                if k == "vars":
                    layer.data.setdefault("vars", {}).update(v)
                else:
                    layer.data[k] = v
        else:
            layer.data = data
        layer.key_map.update(key_map)
        layer.path = path
        if lines:
            layer.lines.update(lines)

    def host(self, entry: str, vars_: dict, path: tuple, group: str | None,
             lines: dict | None = None, line: int | None = None, literal: bool = False) -> None:
        """``literal``: ``entry`` is one host name as it is (no range, no ``:port``)."""
        key_line = line_of(self.root, path) if self.root is not None else line
        try:
            names = [entry] if literal else expand_host_pattern(entry)
        except ValueError as e:
            self.col.add(str(e), key_line, dotted(path))
            return
        for n in names:
            name, port = (n, None) if literal else _split_host_port(n)
            try:
                check_name(name, "host name")
            except ValueError as e:
                self.col.add(str(e), key_line, dotted(path))
                continue
            layer = Layer("host", name, {}, path, line=key_line, root=self.root,
                           order=len(self.hosts))
            self.add_vars(layer, dict(vars_), path, lines, line)
            if port is not None and "port" not in layer.data:
                layer.data["port"] = port
            self.hosts.append(layer)
            if group and name not in self.group_hosts[group]:
                self.group_hosts[group].append(name)

    def finish(self, file: str, base_dir: str, vars_dirs=None) -> list[Host]:
        """Hosts with Ansible's precedence; ``vars_dirs`` (``ansible_vars.VarsDirs``): the
        group_vars/ and host_vars/ files beside the inventory and the playbook directory."""
        # children relations become the group layers' "children" (validated/merged centrally)
        for g, kids in self.children.items():
            if kids:
                self.groups[g].data["children"] = kids
        # as Ansible: a host in no group is in ungrouped, and only then
        grouped = {n for g, hs in self.group_hosts.items() if g not in ("all", "ungrouped") for n in hs}
        lonely = [h.name for h in self.hosts if h.name not in grouped]
        if lonely or "ungrouped" in self.groups:
            self.group(self.UNGROUPED, (self.UNGROUPED,), None)
            self.group_hosts["ungrouped"] = list(dict.fromkeys(lonely))
        defaults = self.defaults
        groups = {g: lay for g, lay in self.groups.items() if g not in ("all",)}
        if "all" in self.groups:
            lay = self.groups["all"]
            lay.kind = "defaults"
            lay.data.pop("children", None)
            defaults = [lay] + defaults
        group_hosts = {g: hs for g, hs in self.group_hosts.items() if g in groups}
        return build_hosts(file, base_dir, defaults, groups, self.hosts, group_hosts, self.col,
                           special_groups=("ungrouped",), ansible=True, vars_dirs=vars_dirs)

