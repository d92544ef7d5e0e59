"""Reading an inventory file: the registry of formats and how one is picked.

``FORMATS`` maps a format's name to its loader. A format is one module (``native.py``,
``ansible_yaml.py``, ``ansible_ini.py``) with ``NAME``, ``load(text, doc, file, base_dir)`` and,
for YAML formats, ``claims(doc)``: whether a parsed YAML document looks like that format. A new
YAML format is one module and one line in ``FORMATS``; YAML formats are asked in the order of
``FORMATS``, and a YAML mapping nobody claims is read as native (its errors then say what is
wrong). INI is the one text format: chosen by suffix, or when the text is not a YAML mapping.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hardencheck.errors import ConfigError
from hardencheck.inventory import ansible_ini, ansible_yaml, native
from hardencheck.inventory.model import Host, Inventory
from hardencheck.yaml_source import SourceDict, load_text


@dataclass(frozen=True)
class InventoryFormat:
    name: str
    # (text, parsed YAML document or None, file, base_dir) -> hosts; raises ConfigError(s)
    load: Callable[[str, Any, str, str], list[Host]]
    # YAML formats: does this parsed document look like this format?
    claims: Callable[[SourceDict], bool] | None = None


FORMATS: dict[str, InventoryFormat] = {f.name: f for f in (
    InventoryFormat(native.NAME, native.load, native.claims),
    InventoryFormat(ansible_yaml.NAME, ansible_yaml.load, ansible_yaml.claims),
    InventoryFormat(ansible_ini.NAME, ansible_ini.load),
)}


def detect_format(text: str, path: str = "") -> tuple[str, Any]:
    """-> ("native" | "ansible-yaml" | "ini", parsed YAML document or None)."""
    if path.endswith(ansible_ini.SUFFIXES):
        return ansible_ini.NAME, None
    has_sections = ansible_ini.has_sections(text)
    try:
        doc = load_text(text, path or "<string>")
    except ConfigError:
        if has_sections:
            return ansible_ini.NAME, None
        raise
    if not isinstance(doc, SourceDict):
        if doc is None and not text.strip():
            raise ConfigError("the inventory is empty", file=path or None)
        return ansible_ini.NAME, None
    for fmt in FORMATS.values():
        if fmt.claims is not None and fmt.claims(doc):
            return fmt.name, doc
    return native.NAME, doc


def parse_inventory_text(text: str, file: str = "<string>", base_dir: str | None = None
                         ) -> list[Host]:
    base = base_dir or os.getcwd()
    fmt, doc = detect_format(text, file)
    return FORMATS[fmt].load(text, doc, file, base)


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
