"""Inventories: which hosts to scan and how to reach them.

Three formats, detected by content (see ``load_inventory``):

* native YAML (``defaults`` / ``groups`` / ``hosts``),
* Ansible YAML inventories as they are (``all:`` with ``hosts`` / ``children`` / ``vars``),
* Ansible INI inventories (``[group]``, ``[group:vars]``, ``[group:children]``).

All three are turned into the same intermediate form (a list of *layers*: defaults, groups,
hosts), validated by the same pydantic models and merged with the same precedence::

    defaults  <  groups (parents before children, in declaration order)  <  host

Every value that later reaches a command line, a socket or a file name is validated here:
addresses must be DNS names or IP literals, users follow OpenSSH's rules (no shell
metacharacters, no leading ``-``), jump hosts are structured data, never shell snippets, and
passwords are never read from an inventory (``sudo_password_env`` names an environment
variable instead). Every error names file, line and field, and all errors of a file are
reported together (``ConfigErrors``).
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import ipaddress
import json
import os
import re
import shlex
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.yaml_source import SourceDict, dotted, line_of, load_text

# --------------------------------------------------------------------------------------------
# The model the engine and the transport consume
# --------------------------------------------------------------------------------------------


@dataclass
class JumpHost:
    address: str
    port: int = 22
    user: str | None = None
    # Only filled from an ssh_config ``IdentityFile`` for the jump host itself; empty means
    # "the transport uses the target host's identity files".
    identity_files: list[str] = field(default_factory=list)
    # which of address/port/user the ProxyJump spec named (the rest may come from ssh_config)
    explicit: set[str] = field(default_factory=set, repr=False, compare=False)

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return (f"{self.user}@" if self.user else "") + host + (f":{self.port}" if self.port != 22 else "")


@dataclass
class Host:
    name: str
    address: str
    port: int = 22
    user: str | None = None
    identity_files: list[str] = field(default_factory=list)
    identities_only: bool = False
    known_hosts_files: list[str] = field(default_factory=list)
    jump: list[JumpHost] = field(default_factory=list)
    become: bool = False
    sudo_password_env: str | None = None
    connect_timeout: float = 10.0
    command_timeout: float = 300.0
    transport: str = "ssh"
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    vars: dict = field(default_factory=dict)
    params: dict[str, dict] = field(default_factory=dict)
    # Host fields the inventory set explicitly (defaults, a group or the host itself): they win
    # over ~/.ssh/config, like options on ssh's command line. See ssh_config.apply_ssh_config.
    explicit: set[str] = field(default_factory=set, repr=False, compare=False)


@dataclass
class Inventory:
    path: str | None
    hosts: list[Host]
    sha256: str | None = None

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)


# --------------------------------------------------------------------------------------------
# Value validation (shared with ssh_config.py)
# --------------------------------------------------------------------------------------------

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
# OpenSSH (>= 9.6) refuses shell metacharacters and a leading '-' in user names given on the
# command line; we go further and allow only the characters real account names use
# (including "user@REALM" and "DOMAIN.user" forms of directory accounts).
_USER_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@+-]{0,255}$")
_IP_CHARS_RE = re.compile(r"^[0-9A-Za-z:._%-]+$")   # incl. an IPv6 zone id (fe80::1%eth0)
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def check_name(value: str, what: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.match(value) or value.startswith("-") \
            or value in (".", ".."):
        raise ValueError(f"invalid {what} {value!r}: use letters, digits, '_', '.', '-' "
                         "(not starting with '-')")
    return value


def check_address(value: str) -> str:
    """A DNS name or an IP literal, nothing else (no spaces, no shell metacharacters, no '-x')."""
    if not isinstance(value, str) or not value:
        raise ValueError("the address must be a non-empty string")
    if value.startswith("-"):
        raise ValueError(f"invalid address {value!r}: must not start with '-'")
    literal = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    if _IP_CHARS_RE.match(literal):
        try:
            ipaddress.ip_address(literal)
            return literal
        except ValueError:
            pass
    name = value[:-1] if value.endswith(".") else value
    if len(name) <= 253 and name and all(_LABEL_RE.match(label) for label in name.split(".")):
        return value
    raise ValueError(f"invalid address {value!r}: must be a DNS name or an IP address")


def check_user(value: str) -> str:
    if not isinstance(value, str) or not _USER_RE.match(value):
        raise ValueError(f"invalid user {value!r}: no spaces or shell metacharacters, "
                         "not starting with '-'")
    return value


def check_port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"invalid port {value!r}: must be a number from 1 to 65535")
    return value


def parse_jump(spec: str | list[str]) -> list[JumpHost]:
    """ProxyJump syntax: ``[user@]host[:port][,...]`` or ``ssh://[user@]host[:port]``.

    Outermost first. ``none`` (alone) means no jump host. Raises ValueError.
    """
    items: list[str] = []
    for part in ([spec] if isinstance(spec, str) else list(spec)):
        if not isinstance(part, str):
            raise ValueError(f"invalid jump host {part!r}: must be a string")
        items.extend(p.strip() for p in part.split(","))
    if items == ["none"]:
        return []
    out = []
    for item in items:
        if not item:
            raise ValueError(f"invalid jump host list {spec!r}: empty entry")
        rest = item[len("ssh://"):] if item.startswith("ssh://") else item
        user = None
        if "@" in rest:
            user, rest = rest.rsplit("@", 1)
            check_user(user)
        port = 22
        explicit = {"address"} | ({"user"} if user is not None else set())
        if rest.startswith("["):
            host, sep, tail = rest[1:].partition("]")
            if not sep or (tail and not tail.startswith(":")):
                raise ValueError(f"invalid jump host {item!r}")
            if tail:
                port = _port_from_str(tail[1:], item)
                explicit.add("port")
        elif rest.count(":") == 1:
            host, p = rest.split(":")
            port = _port_from_str(p, item)
            explicit.add("port")
        else:
            host = rest
        try:
            host = check_address(host)
        except ValueError as e:
            raise ValueError(f"invalid jump host {item!r}: {e}") from None
        out.append(JumpHost(address=host, port=port, user=user, explicit=explicit))
    return out


def _port_from_str(p: str, item: str) -> int:
    if not p.isdigit():
        raise ValueError(f"invalid port in {item!r}")
    return check_port(int(p))


def expand_path(p: str, base: str | None) -> str:
    """``~`` expanded, relative paths resolved against ``base`` (the inventory's folder)."""
    if "\0" in p or not p:
        raise ValueError(f"invalid path {p!r}")
    p = os.path.expanduser(p)
    if not os.path.isabs(p):
        p = os.path.join(base or os.getcwd(), p)
    return os.path.normpath(p)


# --------------------------------------------------------------------------------------------
# Schema (pydantic v2, extra keys forbidden)
# --------------------------------------------------------------------------------------------


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


def _v(fn: Callable) -> BeforeValidator:
    return BeforeValidator(lambda v: fn(v) if v is not None else v)


StrList = Annotated[list[str], BeforeValidator(_listify)]
Name = Annotated[str, _v(check_name)]
User = Annotated[str, _v(check_user)]
ParamName = Annotated[str, _v(lambda v: check_name(v, "parameter name"))]
ControlId = Annotated[str, _v(lambda v: check_name(v, "control id"))]

CONN_KEYS = ("user", "port", "identity_file", "identities_only", "known_hosts_file", "jump",
             "become", "sudo_password_env", "connect_timeout", "command_timeout", "transport")


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user: User | None = None
    port: int | None = Field(None, ge=1, le=65535)
    identity_file: StrList | None = None
    identities_only: bool | None = None
    known_hosts_file: StrList | None = None
    jump: StrList | None = None
    become: bool | None = None
    sudo_password_env: str | None = Field(None, pattern=_ENV_RE.pattern)
    connect_timeout: float | None = Field(None, gt=0, le=3600)
    command_timeout: float | None = Field(None, gt=0, le=86400)
    transport: Literal["ssh", "local"] | None = None
    tags: list[Name] | None = None
    vars: dict[str, Any] | None = None
    params: dict[ControlId, dict[ParamName, Any]] | None = None

    @field_validator("jump")
    @classmethod
    def _jump(cls, v):
        if v is not None:
            parse_jump(v)
        return v

    @field_validator("identity_file", "known_hosts_file")
    @classmethod
    def _paths(cls, v):
        for p in v or []:
            if not p or "\0" in p:
                raise ValueError(f"invalid path {p!r}")
        return v


class _DefaultsModel(_Common):
    pass


class _GroupModel(_Common):
    children: list[Name] | None = None


class _HostModel(_Common):
    address: Annotated[str, _v(check_address)] | None = None
    groups: list[Name] | None = None


_MODELS = {"defaults": _DefaultsModel, "group": _GroupModel, "host": _HostModel}


# --------------------------------------------------------------------------------------------
# Intermediate form: layers that remember where each value came from
# --------------------------------------------------------------------------------------------


@dataclass
class _Layer:
    kind: str                           # "defaults" | "group" | "host"
    name: str
    data: dict                          # native keys
    path: tuple                         # where the layer sits in the source (for field names)
    line: int | None = None
    key_map: dict = field(default_factory=dict)   # native key -> source key
    lines: dict = field(default_factory=dict)     # source key -> line (INI)
    root: Any = None                    # parsed YAML document (YAML sources)
    order: int = 0                      # declaration order


class _Collector:
    def __init__(self, file: str):
        self.file = file
        self.errors: list[ConfigError] = []

    def add(self, message: str, line: int | None = None, field: str | None = None) -> None:
        self.errors.append(ConfigError(message, file=self.file, line=line, field=field))

    def at(self, layer: _Layer, loc: tuple, message: str) -> None:
        loc = tuple(x for x in loc if x != "[key]")
        src_key = layer.key_map.get(loc[0], loc[0]) if loc else None
        full = layer.path + ((src_key,) + tuple(loc[1:]) if loc else ())
        if layer.root is not None:
            line = line_of(layer.root, full)
        else:
            line = layer.lines.get(src_key, layer.line) if src_key else layer.line
        self.add(message, line, dotted(full) or None)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigErrors(sorted(self.errors, key=lambda e: (e.line is None, e.line or 0)))


_HOST_ONLY = {"address", "groups"}
_FRIENDLY = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
}


def _validate(layer: _Layer, col: _Collector) -> dict | None:
    try:
        model = _MODELS[layer.kind].model_validate(layer.data, strict=True)
    except ValidationError as e:
        for err in e.errors():
            msg = _FRIENDLY.get(err["type"], err["msg"])
            if err["type"] == "extra_forbidden":
                key = err["loc"][-1]
                src = layer.key_map.get(key, key) if len(err["loc"]) == 1 else key
                if key in _HOST_ONLY and layer.kind != "host":
                    msg = f"{src!r} can only be set for a host, not for {layer.kind} {layer.name!r}"
                elif key == "children" and layer.kind != "group":
                    msg = f"{src!r} can only be set for a group"
                else:
                    msg = f"unknown key {src!r}"
            elif err["type"] == "string_pattern_mismatch" and "sudo_password_env" in err["loc"]:
                msg = "must be the NAME of an environment variable (letters, digits, '_')"
            elif msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            col.at(layer, tuple(err["loc"]), msg)
        return None
    return model.model_dump(exclude_none=True)


# --------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------


def _str_list(v: Any) -> list:
    """The names of a (not yet validated) list; non-strings as None (reported elsewhere)."""
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        return []
    return [x if isinstance(x, str) else None for x in v]


def _group_order(groups: dict[str, _Layer], parents: dict[str, list[str]], col: _Collector,
                 where: Callable[[str], tuple[int | None, str | None]]) -> list[str]:
    """Parents before children; declaration order otherwise. Cycles are errors."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(g: str, stack: list[str]) -> None:
        if state.get(g) == 2:
            return
        if state.get(g) == 1:
            line, fld = where(g)
            col.add("group cycle: " + " -> ".join(stack[stack.index(g):] + [g]), line, fld)
            return
        state[g] = 1
        for p in sorted(parents.get(g, []), key=lambda x: groups[x].order):
            visit(p, stack + [g])
        state[g] = 2
        order.append(g)

    for g in sorted(groups, key=lambda x: groups[x].order):
        visit(g, [])
    return order


def _build(file: str | None, base_dir: str | None, defaults: list[_Layer],
           groups: dict[str, _Layer], hosts: list[_Layer], group_hosts: dict[str, list[str]],
           col: _Collector, special_groups: tuple[str, ...] = ()) -> list[Host]:
    """Validate every layer, resolve group membership and merge the layers into Hosts.

    ``group_hosts``: group -> host names declared inside the group (Ansible); native hosts name
    their groups themselves.
    """
    valid: dict[int, dict] = {}
    for layer in defaults + list(groups.values()) + hosts:
        data = _validate(layer, col)
        if data is not None:
            valid[id(layer)] = data

    # parents of each group (from the children lists)
    parents: dict[str, list[str]] = {g: [] for g in groups}
    for g, layer in groups.items():
        for i, c in enumerate(_str_list(layer.data.get("children"))):
            if c is None:
                continue
            if c not in groups:
                col.at(layer, ("children", i), f"unknown group {c!r}")
            elif g not in parents[c]:
                parents[c].append(g)

    def group_where(g: str):
        lay = groups[g]
        return (line_of(lay.root, lay.path) if lay.root is not None else lay.line,
                dotted(lay.path))

    order = _group_order(groups, parents, col, group_where)
    rank = {g: i for i, g in enumerate(order)}

    # merge host layers with the same name (Ansible hosts can appear in several groups)
    merged_hosts: dict[str, list[_Layer]] = {}
    for h in hosts:
        merged_hosts.setdefault(h.name, []).append(h)
    member_of: dict[str, list[str]] = {h: [] for h in merged_hosts}
    for g, names in group_hosts.items():
        for n in names:
            if g not in member_of[n]:
                member_of[n].append(g)
    for name, layers in merged_hosts.items():
        for layer in layers:
            for i, g in enumerate(_str_list(layer.data.get("groups"))):
                if g is None:
                    continue
                if g not in groups:
                    col.at(layer, ("groups", i), f"unknown group {g!r}")
                elif g not in member_of[name]:
                    member_of[name].append(g)

    col.raise_if_any()

    out = []
    for name, layers in merged_hosts.items():
        # all groups incl. ancestors
        closure: set[str] = set()
        todo = list(member_of[name])
        while todo:
            g = todo.pop()
            if g not in closure:
                closure.add(g)
                todo.extend(parents.get(g, []))
        host_groups = sorted(closure, key=lambda g: rank[g])
        chain = ([valid[id(d)] for d in defaults] + [valid[id(groups[g])] for g in host_groups]
                 + [valid[id(h)] for h in layers])
        err_layer = layers[-1]
        try:
            out.append(_merge(name, chain, host_groups, special_groups, base_dir))
        except ValueError as e:
            col.at(err_layer, (), str(e))
    col.raise_if_any()
    return out


def _merge(name: str, chain: list[dict], host_groups: list[str], special: tuple[str, ...],
           base_dir: str | None) -> Host:
    h = Host(name=name, address=name)
    explicit: set[str] = set()
    own_tags: list[str] = []
    for data in chain:
        for key, value in data.items():
            if key in ("tags",):
                own_tags += [t for t in value if t not in own_tags]
            elif key == "vars":
                h.vars.update(value)
            elif key == "params":
                for cid, params in value.items():
                    h.params.setdefault(cid, {}).update(params)
            elif key in ("children", "groups"):
                pass
            elif key == "identity_file":
                h.identity_files = [expand_path(p, base_dir) for p in value]
                explicit.add("identity_files")
            elif key == "known_hosts_file":
                h.known_hosts_files = [expand_path(p, base_dir) for p in value]
                explicit.add("known_hosts_files")
            elif key == "jump":
                h.jump = parse_jump(value)
                explicit.add("jump")
            else:
                setattr(h, key, value)
                explicit.add(key)
    check_name(name, "host name")
    if "address" not in explicit:
        check_address(name)
    groups = [g for g in host_groups if g not in special]
    h.groups = groups
    h.tags = own_tags + [g for g in groups if g not in own_tags]
    h.explicit = explicit
    if h.transport == "local":
        h.jump = []
    return h


# --------------------------------------------------------------------------------------------
# Native YAML
# --------------------------------------------------------------------------------------------


def _load_native(doc: SourceDict, file: str, base_dir: str) -> list[Host]:
    col = _Collector(file)
    for key in doc:
        if key not in ("defaults", "groups", "hosts"):
            col.add(f"unknown key {key!r} (expected defaults, groups, hosts)",
                    line_of(doc, [key]), str(key))
    if "hosts" not in doc:
        col.add("the inventory has no 'hosts'", doc.line, "hosts")

    def mapping(key: str) -> dict:
        v = doc.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            col.add("must be a mapping", line_of(doc, [key]), key)
            return {}
        return v

    defaults = []
    if "defaults" in doc:
        d = mapping("defaults")
        defaults.append(_Layer("defaults", "defaults", d, ("defaults",), root=doc))
    groups: dict[str, _Layer] = {}
    for i, (g, body) in enumerate(mapping("groups").items()):
        if not _check_key_name(g, ("groups", g), doc, col, "group name"):
            continue
        body = _body(body, ("groups", g), doc, col)
        groups[g] = _Layer("group", g, body, ("groups", g), root=doc, order=i)
    hosts = []
    for i, (n, body) in enumerate(mapping("hosts").items()):
        if not _check_key_name(n, ("hosts", n), doc, col, "host name"):
            continue
        body = _body(body, ("hosts", n), doc, col)
        hosts.append(_Layer("host", n, body, ("hosts", n), root=doc, order=i))
    if "hosts" in doc and not hosts and not col.errors:
        col.add("the inventory has no hosts", line_of(doc, ["hosts"]), "hosts")
    return _build(file, base_dir, defaults, groups, hosts, {}, col)


def _check_key_name(name: Any, path: tuple, root: Any, col: _Collector, what: str) -> bool:
    try:
        check_name(name, what)
        return True
    except ValueError as e:
        col.add(str(e), line_of(root, path), dotted(path))
        return False


def _body(body: Any, path: tuple, root: Any, col: _Collector) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        col.add("must be a mapping", line_of(root, path), dotted(path))
        return {}
    return body


# --------------------------------------------------------------------------------------------
# Ansible (YAML and INI): variables -> native keys
# --------------------------------------------------------------------------------------------

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
_INT_KEYS = {"port"}
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


def _ansible_vars_to_native(vars_: dict, col: _Collector, report: Callable[[str, str], None]
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


class _AnsibleBuilder:
    """Collects groups and hosts in declaration order (shared by the YAML and INI readers)."""

    def __init__(self, col: _Collector, root: Any = None):
        self.col = col
        self.root = root
        self.defaults: list[_Layer] = []
        self.groups: dict[str, _Layer] = {}
        self.hosts: list[_Layer] = []
        self.group_hosts: dict[str, list[str]] = {}
        self.children: dict[str, list[str]] = {}

    def group(self, name: str, path: tuple, line: int | None) -> _Layer:
        if name not in self.groups:
            self.groups[name] = _Layer("group", name, {}, path, line=line, root=self.root,
                                       order=len(self.groups))
            self.group_hosts[name] = []
            self.children[name] = []
        return self.groups[name]

    def add_vars(self, layer: _Layer, vars_: dict, path: tuple, lines: dict | None = None,
                 line: int | None = None) -> None:
        def report(k, msg):
            if self.root is not None:
                self.col.add(msg, line_of(self.root, path + (k,)), dotted(path + (k,)))
            else:
                self.col.add(msg, (lines or {}).get(k, line), dotted(path + (k,)))
        data, key_map = _ansible_vars_to_native(vars_, self.col, report)
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
             lines: dict | None = None, line: int | None = None) -> None:
        key_line = line_of(self.root, path) if self.root is not None else line
        try:
            names = expand_host_pattern(entry)
        except ValueError as e:
            self.col.add(str(e), key_line, dotted(path))
            return
        for n in names:
            name, port = _split_host_port(n)
            try:
                check_name(name, "host name")
            except ValueError as e:
                self.col.add(str(e), key_line, dotted(path))
                continue
            layer = _Layer("host", name, {}, path, line=key_line, root=self.root,
                           order=len(self.hosts))
            self.add_vars(layer, dict(vars_), path, lines, line)
            if port is not None and "port" not in layer.data:
                layer.data["port"] = port
            self.hosts.append(layer)
            if group and name not in self.group_hosts[group]:
                self.group_hosts[group].append(name)

    def finish(self, file: str, base_dir: str) -> list[Host]:
        # children relations become the group layers' "children" (validated/merged centrally)
        for g, kids in self.children.items():
            if kids:
                self.groups[g].data["children"] = kids
        defaults = self.defaults
        groups = {g: lay for g, lay in self.groups.items() if g not in ("all",)}
        if "all" in self.groups:
            lay = self.groups["all"]
            lay.kind = "defaults"
            lay.data.pop("children", None)
            defaults = [lay] + defaults
        group_hosts = {g: hs for g, hs in self.group_hosts.items() if g in groups}
        return _build(file, base_dir, defaults, groups, self.hosts, group_hosts, self.col,
                      special_groups=("ungrouped",))


def _load_ansible_yaml(doc: SourceDict, file: str, base_dir: str) -> list[Host]:
    col = _Collector(file)
    b = _AnsibleBuilder(col, root=doc)

    def walk(gname: Any, body: Any, path: tuple, parent: str | None, depth: int) -> None:
        if not _check_key_name(gname, path, doc, col, "group name"):
            return
        if depth > 50:
            col.add("groups nested too deeply", line_of(doc, path), dotted(path))
            return
        layer = b.group(gname, path, line_of(doc, path))
        if parent and parent != "all" and gname not in b.children[parent]:
            b.children[parent].append(gname)
        if body is None:
            return
        if not isinstance(body, dict):
            col.add("a group must be a mapping", line_of(doc, path), dotted(path))
            return
        for key in body:
            if key not in ("hosts", "vars", "children"):
                col.add(f"unknown key {key!r} in a group (expected hosts, vars, children)",
                        line_of(doc, path + (key,)), dotted(path + (key,)))
        vars_ = body.get("vars")
        if vars_ is not None:
            if isinstance(vars_, dict):
                b.add_vars(layer, vars_, path + ("vars",))
            else:
                col.add("must be a mapping", line_of(doc, path + ("vars",)),
                        dotted(path + ("vars",)))
        hosts = body.get("hosts")
        if hosts is not None:
            if isinstance(hosts, dict):
                for entry, hvars in hosts.items():
                    hp = path + ("hosts", entry)
                    if hvars is None:
                        hvars = {}
                    if not isinstance(hvars, dict) or not isinstance(entry, str):
                        col.add("a host must be a mapping of variables", line_of(doc, hp),
                                dotted(hp))
                        continue
                    b.host(entry, hvars, hp, gname if gname != "all" else None)
            else:
                col.add("must be a mapping of host names", line_of(doc, path + ("hosts",)),
                        dotted(path + ("hosts",)))
        children = body.get("children")
        if children is not None:
            if isinstance(children, dict):
                for child, cbody in children.items():
                    walk(child, cbody, path + ("children", child), gname, depth + 1)
            else:
                col.add("must be a mapping of group names", line_of(doc, path + ("children",)),
                        dotted(path + ("children",)))

    for g, body in doc.items():
        walk(g, body, (g,), None, 0)
    return b.finish(file, base_dir)


# --------------------------------------------------------------------------------------------
# Ansible INI
# --------------------------------------------------------------------------------------------

_SECTION_RE = re.compile(r"^\[([^\]\s]+)\]\s*$")


def _ini_value(raw: str, literal: bool) -> Any:
    if literal:
        try:
            v = ast.literal_eval(raw)
            if isinstance(v, (str, int, float, bool, list, dict, tuple)) or v is None:
                return list(v) if isinstance(v, tuple) else v
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return raw


def _load_ini(text: str, file: str, base_dir: str) -> list[Host]:
    col = _Collector(file)
    b = _AnsibleBuilder(col)
    section, kind = "ungrouped", "hosts"
    b.group("ungrouped", ("ungrouped",), None)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(";"):
            continue
        m = _SECTION_RE.match(line)
        if line.startswith("["):
            if not m:
                col.add(f"invalid section header {line!r}", lineno)
                section, kind = None, None
                continue
            name, _, kind = m.group(1).partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                col.add(f"unknown section type {kind!r} (expected vars or children)", lineno,
                        m.group(1))
                section, kind = None, None
                continue
            try:
                check_name(name, "group name")
            except ValueError as e:
                col.add(str(e), lineno, m.group(1))
                section, kind = None, None
                continue
            section = name
            lay = b.group(name, (name,), lineno)
            if lay.line is None:
                lay.line = lineno
            continue
        if section is None:
            continue            # inside a broken section: already reported
        if kind == "hosts":
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError as e:
                col.add(f"cannot parse host line: {e}", lineno)
                continue
            if not tokens:
                continue
            entry, pairs = tokens[0], tokens[1:]
            hvars: dict = {}
            lines: dict = {}
            bad = False
            for p in pairs:
                k, eq, v = p.partition("=")
                if not eq or not k:
                    col.add(f"expected key=value, got {p!r}", lineno, entry)
                    bad = True
                    continue
                hvars[k] = _ini_value(v, literal=True)
                lines[k] = lineno
            if bad:
                continue
            b.host(entry, hvars, (entry,), section if section not in ("all",) else None,
                   lines=lines, line=lineno)
        elif kind == "vars":
            k, eq, v = line.partition("=")
            k, v = k.strip(), v.strip()
            if not eq or not k:
                col.add(f"expected key=value, got {line!r}", lineno, f"{section}:vars")
                continue
            v = _ini_value(v, literal=False)
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            b.add_vars(b.groups[section], {k: v}, (f"{section}:vars",), lines={k: lineno},
                       line=lineno)
        else:  # children
            child = line.split()[0]
            try:
                check_name(child, "group name")
            except ValueError as e:
                col.add(str(e), lineno, f"{section}:children")
                continue
            b.group(child, (child,), None)
            if section != "all" and child not in b.children[section]:
                b.children[section].append(child)
            lay = b.groups[section]
            lay.lines.setdefault("children", lineno)
    # a group that only appeared in a :children list: point errors at that list
    return b.finish(file, base_dir)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

_NATIVE_KEYS = {"defaults", "groups", "hosts"}


def detect_format(text: str, path: str = "") -> tuple[str, Any]:
    """-> ("native" | "ansible-yaml" | "ini", parsed YAML document or None)."""
    if path.endswith((".ini", ".cfg")):
        return "ini", None
    has_sections = any(_SECTION_RE.match(line.strip()) for line in text.splitlines())
    try:
        doc = load_text(text, path or "<string>")
    except ConfigError:
        if has_sections:
            return "ini", None
        raise
    if not isinstance(doc, SourceDict):
        if doc is None and not text.strip():
            raise ConfigError("the inventory is empty", file=path or None)
        return "ini", None
    keys = set(doc)
    if "all" in keys:
        return "ansible-yaml", doc
    if keys <= _NATIVE_KEYS and ("hosts" in keys or "defaults" in keys):
        return "native", doc
    if doc and all(isinstance(v, dict) and set(v) <= {"hosts", "children", "vars"}
                   for v in doc.values()) and any(
            isinstance(v, dict) and set(v) & {"hosts", "children"} for v in doc.values()):
        return "ansible-yaml", doc
    return "native", doc


def parse_inventory_text(text: str, file: str = "<string>", base_dir: str | None = None
                         ) -> list[Host]:
    base = base_dir or os.getcwd()
    fmt, doc = detect_format(text, file)
    if fmt == "native":
        return _load_native(doc, file, base)
    if fmt == "ansible-yaml":
        return _load_ansible_yaml(doc, file, base)
    return _load_ini(text, file, base)


def load_inventory(path: str | os.PathLike) -> Inventory:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("inventory file not found", file=str(path)) from None
    except OSError as e:
        raise ConfigError(f"cannot read the inventory: {e}", file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"the inventory is not UTF-8: {e}", file=str(path)) from None
    hosts = parse_inventory_text(text, str(path), str(p.resolve().parent))
    if not hosts:
        raise ConfigError("the inventory has no hosts", file=str(path))
    return Inventory(path=str(path), hosts=hosts, sha256=hashlib.sha256(raw).hexdigest())


def local_inventory() -> Inventory:
    return Inventory(path=None, hosts=[Host(name="localhost", address="localhost",
                                            transport="local", explicit={"transport"})],
                     sha256=None)


def limit_hosts(inv: Inventory, patterns: list[str]) -> list[Host]:
    """``--limit web1,db*,prod,!db3``: fnmatch on host names and on group names.

    A leading ``!`` excludes. A pattern that matches no host and no group is an error (a typo
    must not silently shrink the scan).
    """
    pats = [p.strip() for item in patterns for p in item.split(",") if p.strip()]
    if not pats:
        return list(inv.hosts)
    include = [p for p in pats if not p.startswith("!")]
    exclude = [p[1:] for p in pats if p.startswith("!")]

    def matches(h: Host, pat: str) -> bool:
        return fnmatch.fnmatchcase(h.name, pat) or any(
            fnmatch.fnmatchcase(g, pat) for g in h.groups)

    errors = []
    for pat in include + exclude:
        if not any(matches(h, pat) for h in inv.hosts):
            errors.append(ConfigError(f"--limit {pat!r} matches no host and no group",
                                      file=inv.path, field="limit"))
    if errors:
        raise ConfigErrors(errors)
    selected = [h for h in inv.hosts if not include or any(matches(h, p) for p in include)]
    return [h for h in selected if not any(matches(h, p) for p in exclude)]
