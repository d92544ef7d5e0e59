"""The host model the engine and the transports consume, and the checks of single values.

``Host`` / ``JumpHost`` / ``Inventory`` are plain dataclasses. The ``check_*`` functions and
``parse_jump`` validate every value that later reaches a command line, a socket or a file name
(addresses are DNS names or IP literals, users follow OpenSSH's rules, jump hosts are structured
data, never shell snippets); they raise ``ValueError`` and are shared by the inventory schema and
``ssh_config``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import Any

from hardencheck.collect.transports import TRANSPORT_NAMES


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
    # targets in flight at a time through one bastion (its shared connection); None: the default
    jump_max_sessions: int | None = None
    become: bool = False
    sudo_password_env: str | None = None
    connect_timeout: float = 10.0
    command_timeout: float = 300.0
    # seconds the host may send nothing while the probe script runs before it is cut as a timeout
    # (0: no idle limit, only command_timeout); probes known to be quiet get their own (engine)
    idle_timeout: float = 60.0
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
    # Ansible inventories: the group_vars/ and host_vars/ files that were read ({"path", "sha256"})
    vars_files: list[dict] = field(default_factory=list)

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)


# --------------------------------------------------------------------------------------------
# Value checks (raise ValueError; shared with schema.py and ssh_config.py)
# --------------------------------------------------------------------------------------------

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
# OpenSSH (>= 9.6) refuses shell metacharacters and a leading '-' in user names given on the
# command line; we go further and allow only the characters real account names use
# (including "user@REALM" and "DOMAIN.user" forms of directory accounts).
_USER_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@+-]{0,255}$")
_IP_CHARS_RE = re.compile(r"^[0-9A-Za-z:._%-]+$")   # incl. an IPv6 zone id (fe80::1%eth0)

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


def check_transport(value: Any) -> str:
    """One of the transport registry's names (``hardencheck.collect.transports``)."""
    if not isinstance(value, str) or value not in TRANSPORT_NAMES:
        raise ValueError(f"unknown transport {value!r} (known transports: "
                         f"{', '.join(TRANSPORT_NAMES)})")
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
