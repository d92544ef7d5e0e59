"""Reading an OpenSSH client config safely, for ``ssh_config.py``.

``load_ssh_config`` reads a file, inlines its ``Include`` s (paramiko does not implement them;
OpenSSH's rules: relative paths are under ``~/.ssh``, globs are allowed, at most 16 levels),
refuses ``Match exec`` (it runs a local command during lookup) and Match criteria paramiko does
not evaluate, each with file and line, and only then hands the text to paramiko's
``SSHConfig``. ``SSHConfigFile.origin`` tells where a looked-up value came from, for errors.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from dataclasses import dataclass

from hardencheck._paramiko import paramiko
from paramiko.ssh_exception import ConfigParseError, CouldNotCanonicalize

from hardencheck.errors import ConfigError, ConfigErrors

MAX_INCLUDE_DEPTH = 16

_SETTINGS_RE = re.compile(r"(\w+)(?:\s*=\s*|\s+)(.+)")   # the same as paramiko's
# Match criteria paramiko evaluates (anything else it silently treats as matching)
_MATCH_CRITERIA = {"all", "canonical", "final", "host", "originalhost", "user", "localuser"}
_NO_ARG_CRITERIA = {"all", "canonical", "final"}


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
