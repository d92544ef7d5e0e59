"""Strict YAML reading that remembers where every value came from.

* ``yaml.SafeLoader``'s constructors only (on libyaml's parser when available): no Python object tags.
* A key repeated in one mapping is an error (a silent overwrite would drop a control or a host).
* Mappings and sequences come back as ``SourceDict`` / ``SourceList`` (plain ``dict``/``list``
  subclasses) that know the line of each of their items, so a validation error can be reported
  as ``file:line [field]``: see ``line_of``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml

from hardencheck.errors import ConfigError


class SourceDict(dict):
    line: int = 0
    key_lines: dict

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.key_lines = {}


class SourceList(list):
    line: int = 0
    item_lines: list

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.item_lines = []


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """libyaml's parser where PyYAML was built with it (about five times as fast: a scan reads 80
    control files), else the pure-Python one; the safe constructors either way."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> SourceDict:
    loader.flatten_mapping(node)
    out = SourceDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConfigError("a mapping key must be a plain value", line=key_node.start_mark.line + 1)
        if key in out:
            raise ConfigError(f"key {key!r} appears twice in the same mapping (first on line "
                              f"{out.key_lines[key]})", line=key_node.start_mark.line + 1,
                              field=str(key))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> SourceList:
    out = SourceList()
    out.line = node.start_mark.line + 1
    for child in node.value:
        out.append(loader.construct_object(child, deep=True))
        out.item_lines.append(child.start_mark.line + 1)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_text(text: str, file: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except ConfigError as e:
        e.file = file
        raise ConfigError(e.message, file=file, line=e.line, field=e.field) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"not valid YAML: {e.problem or e}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"not valid YAML: {e}", file=file) from None


def load_file(path: str | Path) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read: {e}", file=str(path)) from None
    return load_text(text, str(path))


def line_of(data: Any, path: Iterable[Any]) -> int | None:
    """The line of the value at ``path`` (keys and list indexes), or of its nearest parent."""
    line = getattr(data, "line", None)
    node = data
    for step in path:
        if isinstance(node, SourceDict) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, SourceList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
    return line


def dotted(path: Iterable[Any]) -> str:
    """``("expect", 2, "op")`` -> ``expect[2].op``"""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + str(step)
    return out


def validation_errors(err, data: Any, file: str) -> list[ConfigError]:
    """A pydantic ValidationError as ConfigErrors that name file, line and field."""
    out = []
    for e in err.errors():
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # drop pydantic's union/type tags from the location
        clean = [p for p in loc if not (isinstance(p, str) and ("[" in p or p in
                 ("str", "int", "list", "dict", "ParamRef", "any")))]
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(ConfigError(msg, file=file, line=line_of(data, clean), field=dotted(clean) or None))
    return out
