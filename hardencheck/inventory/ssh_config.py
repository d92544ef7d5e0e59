"""Honour the operator's OpenSSH client config (``~/.ssh/config`` or ``--ssh-config FILE``).

Only what describes *where and as whom* to connect is taken over: HostName, Port, User,
IdentityFile, IdentitiesOnly, UserKnownHostsFile and ProxyJump (also for the jump hosts
themselves). Lookup is paramiko's ``SSHConfig``, with guards around it because an ssh_config is
a small program:

* ``Match ... exec`` runs a local command *during lookup* (paramiko does it through Invoke):
  the file and every ``Include``d file is scanned first, and any ``Match exec`` is refused
  with file and line, before paramiko sees the text.
* ``ProxyCommand``, ``LocalCommand``, ``PermitLocalCommand yes`` and ``KnownHostsCommand`` in
  the options that apply to a host are refused, naming the host and the option: hardencheck
  never runs local commands (bastions are modelled with ProxyJump and tunnelled by the
  transport itself).
* Values taken over are validated like inventory values (HostName a DNS name or IP literal,
  User without metacharacters, Port a number).
* Whatever the inventory set explicitly wins (like options on ssh's command line).

Reading the file (``Include``, the ``Match exec`` refusal) is ``ssh_config_file.py``; this module
applies the options that concern a host and its jump hosts.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import socket

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory.model import (Host, JumpHost, check_address, check_port, check_user,
                                         parse_jump)
from hardencheck.inventory.ssh_config_file import SSHConfigFile, load_ssh_config

__all__ = ["DEFAULT_PATH", "SSHConfigFile", "apply_ssh_config", "expand_tokens", "load_ssh_config"]

DEFAULT_PATH = "~/.ssh/config"
MAX_JUMP_DEPTH = 8

# the option names as OpenSSH spells them, for messages
_SPELLING = {"proxycommand": "ProxyCommand", "localcommand": "LocalCommand",
             "permitlocalcommand": "PermitLocalCommand", "knownhostscommand": "KnownHostsCommand",
             "hostname": "HostName", "port": "Port", "user": "User", "identityfile": "IdentityFile",
             "userknownhostsfile": "UserKnownHostsFile", "proxyjump": "ProxyJump",
             "identitiesonly": "IdentitiesOnly"}


def _refuse_commands(cfg: SSHConfigFile, who: str, lookup_name: str, opts) -> None:
    bad = []
    if opts.get("proxycommand") not in (None, "none"):
        bad.append("proxycommand")
    if opts.get("localcommand") is not None:
        bad.append("localcommand")
    if str(opts.get("permitlocalcommand", "no")).lower() == "yes":
        bad.append("permitlocalcommand")
    if opts.get("knownhostscommand") not in (None, "none"):
        bad.append("knownhostscommand")
    errors = []
    for key in bad:
        where = cfg.origin(lookup_name, key, opts)
        errors.append(ConfigError(
            f"{who}: the ssh config sets {_SPELLING[key]} for {lookup_name!r}; hardencheck "
            "never runs local commands (use ProxyJump for bastions)",
            file=where.file if where else cfg.path, line=where.line if where else None,
            field=_SPELLING[key]))
    if errors:
        raise ConfigErrors(errors)


def _checked(cfg: SSHConfigFile, who: str, lookup_name: str, opts, key: str, fn):
    try:
        return fn(opts[key])
    except ValueError as e:
        where = cfg.origin(lookup_name, key, opts)
        raise ConfigError(f"{who}: {_SPELLING.get(key, key)} from the ssh config: {e}",
                          file=where.file if where else cfg.path,
                          line=where.line if where else None, field=_SPELLING.get(key, key)
                          ) from None


def _int_port(v) -> int:
    if not str(v).isdigit():
        raise ValueError(f"invalid port {v!r}")
    return check_port(int(v))


def expand_tokens(path: str, *, host: str, port: int, user: str | None, original: str) -> str:
    """OpenSSH percent tokens and ``~`` in IdentityFile/UserKnownHostsFile paths."""
    local_user = getpass.getuser()
    local_host = socket.gethostname()
    values = {"%": "%", "d": os.path.expanduser("~"), "h": host, "p": str(port),
              "r": user or local_user, "u": local_user, "n": original,
              "L": local_host.split(".")[0], "l": local_host, "i": str(os.getuid())}
    out = []
    i = 0
    while i < len(path):
        c = path[i]
        if c == "%":
            if i + 1 >= len(path) or path[i + 1] not in values:
                tok = path[i:i + 2]
                raise ValueError(f"unsupported token {tok!r} in {path!r}")
            out.append(values[path[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    result = os.path.expanduser("".join(out))
    if "\0" in result or not result:
        raise ValueError(f"invalid path {path!r}")
    return os.path.normpath(os.path.abspath(result))


def _paths(cfg, who, name, opts, key, *, host, port, user) -> list[str]:
    raw = opts[key]
    items = raw if isinstance(raw, list) else raw.split()
    out = []
    for item in items:
        if item.lower() == "none":
            continue
        try:
            out.append(expand_tokens(item, host=host, port=port, user=user, original=name))
        except ValueError as e:
            where = cfg.origin(name, key, opts)
            raise ConfigError(f"{who}: {_SPELLING[key]}: {e}",
                              file=where.file if where else cfg.path,
                              line=where.line if where else None, field=_SPELLING[key]) from None
    return out


def _endpoint(cfg, who, name, opts, address, port, user, explicit) -> tuple[str, int, str | None]:
    """HostName, Port and User from the config. The address is the name ssh looks up
    (``ssh <address>``), so HostName always applies; Port and User only where not explicit."""
    if "hostname" in opts:
        address = _checked(cfg, who, name, opts, "hostname", check_address)
    if "port" not in explicit and "port" in opts:
        port = _checked(cfg, who, name, opts, "port", _int_port)
    if "user" not in explicit and "user" in opts:
        user = _checked(cfg, who, name, opts, "user", check_user)
    return address, port, user


def _resolve_jumps(cfg: SSHConfigFile, who: str, chain: list[JumpHost], depth: int,
                   seen: tuple) -> list[JumpHost]:
    """Apply the config to each jump host; the outermost one's own ProxyJump is followed
    (that is how OpenSSH builds the chain), recursively and bounded."""
    out: list[JumpHost] = []
    for idx, jh in enumerate(chain):
        explicit = jh.explicit
        name = jh.address
        opts = cfg.lookup(name)
        _refuse_commands(cfg, f"{who} (jump host {name})", name, opts)
        address, port, user = _endpoint(cfg, who, name, opts, jh.address, jh.port, jh.user, explicit)
        ids = []
        if "identityfile" in opts:
            ids = _paths(cfg, who, name, opts, "identityfile", host=address, port=port, user=user)
        resolved = JumpHost(address=address, port=port, user=user, identity_files=ids)
        key = (address, port)
        if key in seen or any((j.address, j.port) == key for j in out):
            raise ConfigError(f"{who}: jump host loop through {address}:{port}",
                              file=cfg.path, field="ProxyJump")
        if idx == 0 and opts.get("proxyjump") and opts["proxyjump"] != "none":
            if depth >= MAX_JUMP_DEPTH:
                raise ConfigError(f"{who}: ProxyJump chain deeper than {MAX_JUMP_DEPTH}",
                                  file=cfg.path, field="ProxyJump")
            outer = _parse_cfg_jump(cfg, who, name, opts, address, port, user)
            out.extend(_resolve_jumps(cfg, who, outer, depth + 1, seen + (key,)))
        out.append(resolved)
    if len(out) > MAX_JUMP_DEPTH:
        raise ConfigError(f"{who}: ProxyJump chain longer than {MAX_JUMP_DEPTH}", file=cfg.path,
                          field="ProxyJump")
    return out


def _parse_cfg_jump(cfg, who, name, opts, host, port, user) -> list[JumpHost]:
    spec = opts["proxyjump"].replace("%h", host).replace("%p", str(port)).replace(
        "%r", user or getpass.getuser())
    try:
        jumps = parse_jump(spec)
    except ValueError as e:
        where = cfg.origin(name, "proxyjump", opts)
        raise ConfigError(f"{who}: ProxyJump from the ssh config: {e}",
                          file=where.file if where else cfg.path,
                          line=where.line if where else None, field="ProxyJump") from None
    return jumps


def apply_ssh_config(host: Host, config_path: str | None = None,
                     explicit: set[str] | None = None) -> Host:
    """A copy of ``host`` with the ssh_config options applied (inventory values set explicitly
    win). ``config_path`` None means ``~/.ssh/config`` if it exists."""
    if host.transport != "ssh":
        return host
    if explicit is None:
        explicit = host.explicit
    if config_path is None:
        default = os.path.expanduser(DEFAULT_PATH)
        if not os.path.exists(default):
            return host
        config_path = default
    cfg = load_ssh_config(config_path)
    who = f"host {host.name!r}"
    name = host.address
    opts = cfg.lookup(name)
    _refuse_commands(cfg, who, name, opts)

    address, port, user = _endpoint(cfg, who, name, opts, host.address, host.port, host.user, explicit)
    changes: dict = {"address": address, "port": port, "user": user}
    if "identity_files" not in explicit and "identityfile" in opts:
        changes["identity_files"] = _paths(cfg, who, name, opts, "identityfile", host=address,
                                           port=port, user=user)
    if "identities_only" not in explicit and "identitiesonly" in opts:
        v = str(opts["identitiesonly"]).lower()
        if v not in ("yes", "no"):
            where = cfg.origin(name, "identitiesonly", opts)
            raise ConfigError(f"{who}: IdentitiesOnly must be yes or no, not {v!r}",
                              file=where.file if where else cfg.path,
                              line=where.line if where else None, field="IdentitiesOnly")
        changes["identities_only"] = v == "yes"
    if "known_hosts_files" not in explicit and "userknownhostsfile" in opts:
        changes["known_hosts_files"] = _paths(cfg, who, name, opts, "userknownhostsfile",
                                              host=address, port=port, user=user)
    if "jump" in explicit:
        chain = list(host.jump)
    elif opts.get("proxyjump"):
        chain = _parse_cfg_jump(cfg, who, name, opts, address, port, user)
    else:
        chain = []
    changes["jump"] = _resolve_jumps(cfg, who, chain, 0, ((address, port),)) if chain else []
    return dataclasses.replace(host, **changes)

