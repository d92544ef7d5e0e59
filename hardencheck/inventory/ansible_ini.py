"""Ansible INI inventories: ``[group]`` host lines with ``key=value`` pairs, ``[group:vars]``
and ``[group:children]``. Not YAML: the loader picks it by suffix (``SUFFIXES``), or when the
text is not a YAML mapping (``has_sections``).
"""

from __future__ import annotations

import ast
import re
import shlex
from typing import Any

from hardencheck.inventory.ansible_common import AnsibleBuilder
from hardencheck.inventory.model import Host, check_name
from hardencheck.inventory.source import Collector

NAME = "ini"
SUFFIXES = (".ini", ".cfg")
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


def has_sections(text: str) -> bool:
    """Whether any line is a ``[section]`` header."""
    return any(_SECTION_RE.match(line.strip()) for line in text.splitlines())


def load(text: str, doc: Any, file: str, base_dir: str, vars_dirs=None) -> list[Host]:
    col = Collector(file)
    b = AnsibleBuilder(col)
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
    return b.finish(file, base_dir, vars_dirs)
