"""Reading an inventory file: the registry of formats and how one is picked.

``FORMATS`` maps a format's name to its loader. A format is one module (``native.py``,
``ansible_json.py``, ``ansible_yaml.py``, ``ansible_ini.py``) with ``NAME``,
``load(text, doc, file, base_dir)`` and, for YAML formats, ``claims(doc)``: whether a parsed YAML
document looks like that format. A new YAML format is one module and one line in ``FORMATS``;
YAML formats are asked in the order of ``FORMATS``, and a YAML mapping nobody claims is read as
native (its errors then say what is wrong). INI is the one text format: chosen by suffix, or when
the text is not a YAML mapping. JSON is YAML to the reader.

Ansible formats (``ansible=True``) also get the group_vars/ and host_vars/ beside the inventory
and in the playbook directories (``ansible_dirs``, ``--ansible-dir``): ``ansible_vars.py``.
Vault-encrypted values anywhere are refused before any format sees them (``vault.py``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import ansible_ini, ansible_json, ansible_yaml, native
from hardencheck.inventory.vault import VAULT_HEADER, file_error, load_yaml, vault_errors
from hardencheck.inventory.ansible_vars import vars_dirs
from hardencheck.inventory.model import Host, Inventory
from hardencheck.yaml_source import SourceDict


@dataclass(frozen=True)
class InventoryFormat:
    name: str
    # (text, parsed YAML document or None, file, base_dir[, vars_dirs]) -> hosts; raises ConfigError(s)
    load: Callable[..., list[Host]]
    # YAML formats: does this parsed document look like this format?
    claims: Callable[[SourceDict], bool] | None = None
    ansible: bool = False          # reads group_vars/ and host_vars/


FORMATS: dict[str, InventoryFormat] = {f.name: f for f in (
    InventoryFormat(native.NAME, native.load, native.claims),
    InventoryFormat(ansible_json.NAME, ansible_json.load, ansible_json.claims, ansible=True),
    InventoryFormat(ansible_yaml.NAME, ansible_yaml.load, ansible_yaml.claims, ansible=True),
    InventoryFormat(ansible_ini.NAME, ansible_ini.load, ansible=True),
)}


def detect_format(text: str, path: str = "") -> tuple[str, Any]:
    """-> (a name of ``FORMATS``, parsed YAML document or None)."""
    if path.endswith(ansible_ini.SUFFIXES):
        err = file_error(text, path or "<string>")
        if err is not None:
            raise err
        return ansible_ini.NAME, None
    has_sections = ansible_ini.has_sections(text)
    try:
        doc = load_yaml(text, path or "<string>")
    except ConfigError:
        if has_sections and not text.lstrip().startswith(VAULT_HEADER):
            return ansible_ini.NAME, None
        raise
    if not isinstance(doc, SourceDict):
        if doc is None and not text.strip():
            raise ConfigError("the inventory is empty", file=path or None)
        return ansible_ini.NAME, None
    bad = vault_errors(doc, path or "<string>")
    if bad:
        raise ConfigErrors(bad)
    for fmt in FORMATS.values():
        if fmt.claims is not None and fmt.claims(doc):
            return fmt.name, doc
    return native.NAME, doc


def parse_inventory_text(text: str, file: str = "<string>", base_dir: str | None = None,
                         ansible_dirs: tuple | list = (), vars_beside: bool = False) -> list[Host]:
    """Hosts of an inventory text. Ansible formats read the group_vars/ and host_vars/ of
    ``ansible_dirs`` and, with ``vars_beside``, of ``base_dir`` (the inventory's folder) first."""
    return _parse(text, file, base_dir, ansible_dirs, vars_beside)[0]


def _parse(text: str, file: str, base_dir: str | None, ansible_dirs, vars_beside: bool
           ) -> tuple[list[Host], list[dict]]:
    """(hosts, the vars files read: {"path", "sha256"})."""
    base = base_dir or os.getcwd()
    fmt, doc = detect_format(text, file)
    f = FORMATS[fmt]
    if not f.ansible:
        return f.load(text, doc, file, base), []
    vd = vars_dirs(base if vars_beside else None, ansible_dirs)
    return f.load(text, doc, file, base, vd), (vd.files_read if vd else [])


def load_inventory(path: str | os.PathLike, ansible_dirs: tuple | list = ()) -> Inventory:
    """An inventory file; ``ansible_dirs``: playbook directories whose group_vars/ and host_vars/
    apply to an Ansible inventory (above those beside the inventory)."""
    p = Path(path)
    for d in ansible_dirs or ():
        if not Path(d).is_dir():
            raise ConfigError("not a folder (the playbook directory with group_vars/ and "
                              "host_vars/)", file=str(d), field="--ansible-dir")
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
    hosts, files = _parse(text, str(path), str(p.resolve().parent),
                          [str(Path(d).resolve()) for d in ansible_dirs or ()], vars_beside=True)
    if not hosts:
        raise ConfigError("the inventory has no hosts", file=str(path))
    return Inventory(path=str(path), hosts=hosts, sha256=hashlib.sha256(raw).hexdigest(), vars_files=files)
