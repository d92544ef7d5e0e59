"""The asset register a scan is reconciled with (``scan --expect-hosts FILE``): the company's list of
the servers that should be tested, as its CMDB or asset tool exports it.

Two formats, chosen by the file's first non-blank character (``[``: JSON, else CSV):

- **CSV** (UTF-8, a BOM is fine; the delimiter ``,``, ``;`` or a tab, whichever the header line uses):
  a header line, then one asset per line. The name column is the first of ``fqdn``, ``hostname``,
  ``host_name``, ``host``, ``name`` the header has (case and surrounding blanks ignored); the optional
  environment column the first of ``environment``, ``env``, ``stage``. Other columns are ignored.
- **JSON**: a list of strings (the names) or of objects with the same keys as the CSV header.

Every problem is a ConfigError naming the file, the line and the column (CSV: its number and header;
JSON: the element's line and column): a missing name column, an empty name, a name that is not a host
name or address. Blank lines are skipped; a name listed twice is kept once, and its lines are
recorded (``duplicates``). Nothing here reaches a shell: the names are compared and shown, never run.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from hardencheck.errors import ConfigError, ConfigErrors

#: header names of the name column, in order of preference (the first present is used)
NAME_COLUMNS = ("fqdn", "hostname", "host_name", "host", "name")
#: header names of the optional environment column, in order of preference
ENV_COLUMNS = ("environment", "env", "stage")
#: a host name: labels of letters, digits, "-", "_" (not first or last), at most 253 characters; or an IP address
#: (labels separated by exactly one dot: no nested optional repetition, so no catastrophic backtracking)
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Asset:
    name: str                       # as the register writes it (blanks around it removed)
    environment: str | None
    line: int


@dataclass
class AssetRegister:
    path: str
    sha256: str
    format: str                     # "csv" or "json"
    name_column: str | None         # the header used (None: a JSON list of strings)
    environment_column: str | None
    assets: list[Asset]
    duplicates: list[dict] = field(default_factory=list)   # {name, lines}: listed more than once

    def document(self) -> dict:
        """What results.json's ``scope.register`` records of the file."""
        return {"path": self.path, "sha256": self.sha256, "format": self.format, "name_column": self.name_column,
                "environment_column": self.environment_column, "entries": len(self.assets),
                "duplicates": self.duplicates}


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _check_name(value, path: str, line: int, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"the name is {type(value).__name__}, not a text", file=path, line=line, field=where)
    name = value.strip()
    if not name:
        raise ConfigError("empty name: each asset needs a host name", file=path, line=line, field=where)
    if not _NAME.match(name) and not _is_address(name):
        raise ConfigError(f"{name[:80]!r} is not a host name or address (letters, digits, '.', '-', '_'; "
                          "IPv4/IPv6)", file=path, line=line, field=where)
    return name


def _check_env(value, path: str, line: int, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"the environment is {type(value).__name__}, not a text", file=path, line=line,
                          field=where)
    env = value.strip()
    if any(ord(c) < 32 or c == "\x7f" for c in env) or len(env) > 100:
        raise ConfigError("the environment has control characters or more than 100 characters", file=path,
                          line=line, field=where)
    return env or None


def _pick(header: list[str], wanted: tuple[str, ...]) -> int | None:
    norm = [h.strip().lower() for h in header]
    for w in wanted:
        if w in norm:
            return norm.index(w)
    return None


def _csv(text: str, path: str) -> tuple[list[Asset], str, str | None]:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    assets: list[Asset] = []
    errors: list[ConfigError] = []
    ni = ei = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise ConfigError(f"not valid CSV: {e}", file=path, line=reader.line_num) from None
        if not any(c.strip() for c in row):
            continue
        if header is None:
            header = row
            ni, ei = _pick(row, NAME_COLUMNS), _pick(row, ENV_COLUMNS)
            if ni is None:
                raise ConfigError(f"no name column in the header (one of {', '.join(NAME_COLUMNS)}); found: "
                                  f"{', '.join(h.strip()[:40] for h in row)}", file=path, line=start)
            continue
        where = f"column {ni + 1} '{header[ni].strip()}'"
        try:
            name = _check_name(row[ni] if ni < len(row) else "", path, start, where)
            env = (_check_env(row[ei], path, start, f"column {ei + 1} '{header[ei].strip()}'")
                   if ei is not None and ei < len(row) else None)
            assets.append(Asset(name, env, start))
        except ConfigError as e:
            errors.append(e)
    if header is None:
        raise ConfigError("the file is empty: a header line with a name column is needed", file=path, line=1)
    if errors:
        raise ConfigErrors(errors)
    return assets, header[ni].strip(), header[ei].strip() if ei is not None else None


def _json_elements(text: str, path: str) -> list[tuple[object, int, int]]:
    """The elements of a top-level JSON list, each with the line and column where it starts."""
    dec = json.JSONDecoder()

    def pos(i: int) -> tuple[int, int]:
        line = text.count("\n", 0, i) + 1
        return line, i - (text.rfind("\n", 0, i) + 1) + 1

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(0)
    if i >= len(text) or text[i] != "[":
        raise ConfigError("a JSON register is a list of host names or of objects", file=path, line=pos(i)[0])
    out = []
    i = skip(i + 1)
    if i < len(text) and text[i] == "]":
        return out
    while True:
        try:
            value, end = dec.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise ConfigError(f"not valid JSON: {e.msg}", file=path, line=e.lineno, field=f"column {e.colno}") \
                from None
        except RecursionError:
            line, col = pos(i)
            raise ConfigError("the JSON is nested too deeply", file=path, line=line, field=f"column {col}") from None
        out.append((value, *pos(i)))
        i = skip(end)
        if i < len(text) and text[i] == ",":
            i = skip(i + 1)
            continue
        if i < len(text) and text[i] == "]":
            if skip(i + 1) != len(text):
                raise ConfigError("text after the list", file=path, line=pos(skip(i + 1))[0])
            return out
        line, col = pos(i)
        raise ConfigError("not valid JSON: expected ',' or ']'", file=path, line=line, field=f"column {col}")


def _json(text: str, path: str) -> tuple[list[Asset], str | None, str | None]:
    assets: list[Asset] = []
    errors: list[ConfigError] = []
    used_name = used_env = None
    for value, line, col in _json_elements(text, path):
        try:
            if isinstance(value, str):
                assets.append(Asset(_check_name(value, path, line, f"column {col}"), None, line))
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"an element is a host name or an object, not {type(value).__name__}", file=path,
                                  line=line, field=f"column {col}")
            keys = {str(k).strip().lower(): k for k in value}
            nk = next((keys[k] for k in NAME_COLUMNS if k in keys), None)
            if nk is None:
                raise ConfigError(f"the object has no name key (one of {', '.join(NAME_COLUMNS)})", file=path,
                                  line=line, field=f"column {col}")
            ek = next((keys[k] for k in ENV_COLUMNS if k in keys), None)
            name = _check_name(value[nk], path, line, f"column {col} '{nk}'")
            env = _check_env(value[ek], path, line, f"column {col} '{ek}'") if ek is not None else None
            used_name, used_env = used_name or str(nk), used_env or (str(ek) if ek is not None else None)
            assets.append(Asset(name, env, line))
        except ConfigError as e:
            errors.append(e)
    if errors:
        raise ConfigErrors(errors)
    return assets, used_name, used_env


def load_asset_register(path: str | Path) -> AssetRegister:
    """Read and check the register at ``path`` (ConfigError naming file, line and column)."""
    import hashlib

    p = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the asset register: {e.strerror or e}", file=p, field="--expect-hosts") \
            from None
    if len(data) > _MAX_BYTES:
        raise ConfigError(f"the asset register is larger than {_MAX_BYTES // 1048576} MiB", file=p)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line, col = data.count(b"\n", 0, e.start) + 1, e.start - data.rfind(b"\n", 0, e.start)
        raise ConfigError(f"not UTF-8 (byte 0x{data[e.start]:02x}); export the register as UTF-8", file=p,
                          line=line, field=f"column {col}") from None
    if text.lstrip().startswith("["):
        fmt, (assets, ncol, ecol) = "json", _json(text, p)
    else:
        fmt, (assets, ncol, ecol) = "csv", _csv(text, p)
    seen: dict[str, Asset] = {}
    lines: dict[str, list[int]] = {}
    unique = []
    for a in assets:
        k = a.name.lower().rstrip(".")
        lines.setdefault(k, []).append(a.line)
        if k not in seen:
            seen[k] = a
            unique.append(a)
    dups = [{"name": seen[k].name, "lines": ls} for k, ls in lines.items() if len(ls) > 1]
    return AssetRegister(p, hashlib.sha256(data).hexdigest(), fmt, ncol, ecol, unique, dups)
