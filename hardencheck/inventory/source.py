"""The intermediate form every inventory format produces: *layers* that remember where each
value came from, and the collector that turns problems into ``file:line [field]`` errors.

A layer is one ``defaults``, group or host block of the source, with its values already renamed
to native keys (``key_map`` remembers the source spelling, e.g. ``ansible_port``). All errors of
a file are collected and raised together (``ConfigErrors``), sorted by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory.model import check_name
from hardencheck.yaml_source import dotted, line_of


@dataclass
class Layer:
    kind: str                           # "defaults" | "group" | "host"
    name: str
    data: dict                          # native keys
    path: tuple                         # where the layer sits in the source (for field names)
    line: int | None = None
    key_map: dict = field(default_factory=dict)   # native key -> source key
    lines: dict = field(default_factory=dict)     # source key -> line (INI)
    root: Any = None                    # parsed YAML document (YAML sources)
    order: int = 0                      # declaration order
    priority: int = 1                   # Ansible groups: ansible_group_priority (same depth)


class Collector:
    """The errors of one inventory file, each with line and dotted field."""

    def __init__(self, file: str):
        self.file = file
        self.errors: list[ConfigError] = []

    def add(self, message: str, line: int | None = None, field: str | None = None) -> None:
        self.errors.append(ConfigError(message, file=self.file, line=line, field=field))

    def at(self, layer: Layer, loc: tuple, message: str) -> None:
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


def check_key_name(name: Any, path: tuple, root: Any, col: Collector, what: str) -> bool:
    """A group or host name used as a YAML key; an invalid one is reported, and False."""
    try:
        check_name(name, what)
        return True
    except ValueError as e:
        col.add(str(e), line_of(root, path), dotted(path))
        return False
