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

paramiko does not implement ``Include``; it is done here by inlining the included files, with
the OpenSSH rules: relative paths are under ``~/.ssh``, globs are allowed, at most 16 levels.
"""

from __future__ import annotations

import dataclasses
import getpass
import glob
import os
import re
import shlex
import socket
from dataclasses import dataclass

import paramiko
from paramiko.ssh_exception import ConfigParseError, CouldNotCanonicalize

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import Host, JumpHost, check_address, check_port, check_user, parse_jump

DEFAULT_PATH = "~/.ssh/config"
MAX_INCLUDE_DEPTH = 16
MAX_JUMP_DEPTH = 8

_SETTINGS_RE = re.compile(r"(\w+)(?:\s*=\s*|\s+)(.+)")   # the same as paramiko's
# Match criteria paramiko evaluates (anything else it silently treats as matching)
_MATCH_CRITERIA = {"all", "canonical", "final", "host", "originalhost", "user", "localuser"}
_NO_ARG_CRITERIA = {"all", "canonical", "final"}
# the option names as OpenSSH spells them, for messages
_SPELLING = {"proxycommand": "ProxyCommand", "localcommand": "LocalCommand",
             "permitlocalcommand": "PermitLocalCommand", "knownhostscommand": "KnownHostsCommand",
             "hostname": "HostName", "port": "Port", "user": "User", "identityfile": "IdentityFile",
             "userknownhostsfile": "UserKnownHostsFile", "proxyjump": "ProxyJump",
             "identitiesonly": "IdentitiesOnly"}


class _Paramiko(paramiko.SSHConfig):
    """paramiko's lookup, but path/jump tokens are left for us: we expand them with the *final*
    values (an inventory user set explicitly is what %r must mean, as on ssh's command line)."""

    def _allowed_tokens(self, key):
        if key in ("identityfile", "userknownhostsfile", "proxyjump"):
            return []
        return super()._allowed_tokens(key)


@dataclass
class _Line:
    file: str
    line: int
    text: str


class SSHConfigFile:
    """One parsed, checked ssh_config (with its Includes inlined)."""

    def __init__(self, path: str):
        self.path = path
        self.lines: list[_Line] = []
        self.origins: list[dict[str, _Line]] = [{}]   # per paramiko context: key -> first line
        errors: list[ConfigError] = []
        self._read(path, 0, errors, None, conditional=False)
        if errors:
            raise ConfigErrors(errors)
        try:
            self.config = _Paramiko.from_text("\n".join(x.text for x in self.lines))
        except ConfigParseError as e:    # our pre-scan should have caught it
            raise ConfigError(f"cannot parse: {e}", file=path) from None
        assert len(self.config._config) == len(self.origins), "context bookkeeping out of sync"

    # -- reading, Include, pre-scan ----------------------------------------------------------

    def _read(self, path: str, depth: int, errors: list, via: _Line | None, conditional: bool
              ) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            errors.append(ConfigError("ssh config file not found",
                                      file=via.file if via else path,
                                      line=via.line if via else None,
                                      field="Include" if via else None))
            return
        except (OSError, UnicodeDecodeError) as e:
            errors.append(ConfigError(f"cannot read ssh config: {e}", file=path))
            return
        header: _Line | None = None        # the Host/Match line of the current block
        for n, raw in enumerate(text.splitlines(), 1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            here = _Line(path, n, stripped)
            m = _SETTINGS_RE.match(stripped)
            if not m:
                errors.append(ConfigError(f"cannot parse line {stripped!r}", file=path, line=n))
                continue
            key, value = m.group(1).lower(), m.group(2)
            if key in ("host", "match"):
                if conditional:
                    errors.append(ConfigError(
                        "an Include inside a Host/Match block names a file with its own "
                        "Host/Match blocks; hardencheck does not support that, move the "
                        "Include to the top level", file=path, line=n, field=m.group(1)))
                    continue
                if key == "match":
                    self._check_match(value, here, errors)
                header = here
                self.lines.append(here)
                self.origins.append({})
                continue
            if key == "include":
                if depth + 1 > MAX_INCLUDE_DEPTH:
                    errors.append(ConfigError("Include nested too deeply", file=path, line=n,
                                              field="Include"))
                    continue
                block_is_conditional = conditional or (
                    header is not None and not _is_host_star(header.text))
                before = len(self.origins)
                for inc in self._include_targets(value, here, errors):
                    self._read(inc, depth + 1, errors, here, block_is_conditional)
                if len(self.origins) != before:
                    # the included file opened blocks of its own: reopen ours
                    self.lines.append(_Line(path, n, header.text if header else "Host *"))
                    self.origins.append({})
                continue
            self.lines.append(here)
            self.origins[-1].setdefault(key, here)

    @staticmethod
    def _include_targets(value: str, here: _Line, errors: list) -> list[str]:
        try:
            args = shlex.split(value)
        except ValueError as e:
            errors.append(ConfigError(f"cannot parse Include: {e}", file=here.file,
                                      line=here.line, field="Include"))
            return []
        out = []
        for a in args:
            a = os.path.expanduser(a)
            if not os.path.isabs(a):
                a = os.path.join(os.path.expanduser("~/.ssh"), a)
            out.extend(sorted(glob.glob(a)))   # no match: ignored, as OpenSSH does
        return out

    @staticmethod
    def _check_match(value: str, here: _Line, errors: list) -> None:
        try:
            tokens = shlex.split(value)
        except ValueError as e:
            errors.append(ConfigError(f"cannot parse Match: {e}", file=here.file, line=here.line,
                                      field="Match"))
            return
        while tokens:
            criterion = tokens.pop(0)
            name = criterion.lstrip("!").lower()
            if name == "exec":
                errors.append(ConfigError(
                    "'Match exec' runs a local command during lookup; hardencheck refuses to "
                    "read an ssh config containing it (use --ssh-config with a file without it)",
                    file=here.file, line=here.line, field="Match exec"))
            elif name not in _MATCH_CRITERIA:
                errors.append(ConfigError(
                    f"'Match {name}' is not supported by the ssh config lookup hardencheck "
                    "uses (it would match every host)", file=here.file, line=here.line,
                    field=f"Match {name}"))
            if name not in _NO_ARG_CRITERIA and tokens:
                tokens.pop(0)

    # -- lookup ------------------------------------------------------------------------------

    def lookup(self, name: str) -> paramiko.SSHConfigDict:
        try:
            return self.config.lookup(name)
        except CouldNotCanonicalize as e:
            raise ConfigError(f"CanonicalizeHostname could not canonicalize {name!r}: {e}",
                              file=self.path, field="CanonicalizeHostname") from None

    def origin(self, name: str, key: str, options) -> _Line | None:
        """Where the value of ``key`` for host ``name`` came from (best effort)."""
        cfg = self.config
        for ctx, origins in zip(cfg._config, self.origins):
            if key not in ctx["config"] or key not in origins:
                continue
            if cfg._pattern_matches(ctx.get("host", []), name) or cfg._does_match(
                    ctx.get("matches", []), name, False, True, options):
                return origins[key]
        return None


def _is_host_star(header_text: str) -> bool:
    m = _SETTINGS_RE.match(header_text)
    return bool(m) and m.group(1).lower() == "host" and m.group(2).split() == ["*"]


_cache: dict[tuple, SSHConfigFile] = {}


def load_ssh_config(path: str) -> SSHConfigFile:
    """Read and check an ssh_config (cached per file and mtime)."""
    path = os.path.abspath(os.path.expanduser(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError("ssh config file not found", file=path) from None
    except OSError as e:
        raise ConfigError(f"cannot read ssh config: {e}", file=path) from None
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _cache:
        _cache[key] = SSHConfigFile(path)
    return _cache[key]


# --------------------------------------------------------------------------------------------
# Applying the options to a host
# --------------------------------------------------------------------------------------------


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

