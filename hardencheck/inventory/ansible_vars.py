"""Ansible's ``group_vars/`` and ``host_vars/``: variables in files beside the inventory, and
beside the playbook directory (``--ansible-dir``), read as Ansible's ``host_group_vars`` plugin
reads them.

Where a group's (or a host's) variables are, for each folder (the inventory's, then the playbook
directory): ``group_vars/<name>`` (a file without extension, or a folder), else
``group_vars/<name>.yml``, ``.yaml``, ``.json`` (the first of these that exists); a folder is read
recursively, its files sorted by name (hidden files, ``~`` backups and files with other
extensions skipped), later files over earlier ones. YAML or JSON, each a mapping (an empty file
is nothing). Vault-encrypted values or files are refused (``vault.py``).

Precedence, lowest first, as Ansible documents it (``VARIABLE_PRECEDENCE``) and as
``ansible-inventory --list`` resolves it::

    inventory file: all's vars < the host's groups' vars (by depth, ansible_group_priority, name)
    < group_vars/all (inventory folder, then playbook folder)
    < group_vars/<group> of the inventory folder (each of the host's groups, same order)
    < group_vars/<group> of the playbook folder
    < the inventory file's host vars < host_vars/<host> (inventory folder, then playbook folder)

Each variable replaces the value below it whole (Ansible's default ``hash_behaviour=replace``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from hardencheck.errors import ConfigError
from hardencheck.inventory.vault import load_yaml, vault_errors
from hardencheck.inventory.ansible_common import ansible_vars_to_native
from hardencheck.inventory.schema import validate_layer
from hardencheck.inventory.source import Collector, Layer
from hardencheck.yaml_source import line_of

EXTENSIONS = ("", ".yml", ".yaml", ".json")
MAX_FILE_BYTES = 4 << 20


def _dir_files(path: Path) -> list[Path]:
    """A vars folder's files, recursively, sorted by name, as Ansible's loader lists them."""
    out: list[Path] = []
    for name in sorted(os.listdir(path)):
        if name.startswith(".") or name.endswith("~"):
            continue
        full = path / name
        ext = os.path.splitext(name)[1]
        if full.is_dir() and not ext:
            out.extend(_dir_files(full))
        elif full.is_file() and (not ext or ext in EXTENSIONS):
            out.append(full)
    return out


def vars_files(base: Path, subdir: str, name: str) -> list[Path]:
    """The files holding ``name``'s variables in ``base/subdir`` (group_vars or host_vars)."""
    folder = base / subdir
    if not folder.is_dir():
        return []
    for ext in EXTENSIONS:
        p = folder / (name + ext)
        if p.exists():
            return _dir_files(p) if p.is_dir() else [p]
    return []


class VarsDirs:
    """The ``group_vars/`` and ``host_vars/`` of some folders (lowest precedence first), read on
    demand and each file once; problems are collected in ``errors`` (file, line, field)."""

    def __init__(self, dirs: list[str | os.PathLike], base_dir: str | None = None):
        self.dirs = [Path(d) for d in dirs]
        self.base_dir = base_dir
        self.errors: list[ConfigError] = []
        self._cache: dict[tuple, list[dict]] = {}
        self.files_read: list[dict] = []       # {"path", "sha256"} of every vars file read

    def _load(self, path: Path, kind: str, name: str) -> dict | None:
        file = str(path)
        try:
            raw = path.read_bytes()[:MAX_FILE_BYTES + 1]
        except OSError as e:
            self.errors.append(ConfigError(f"cannot read: {e.strerror or e}", file=file))
            return None
        if len(raw) > MAX_FILE_BYTES:
            self.errors.append(ConfigError(f"larger than {MAX_FILE_BYTES >> 20} MiB", file=file))
            return None
        try:
            doc = load_yaml(raw.decode("utf-8"), file)
        except UnicodeDecodeError as e:
            self.errors.append(ConfigError(f"not UTF-8: {e}", file=file))
            return None
        except ConfigError as e:
            self.errors.append(e)
            return None
        self.files_read.append({"path": file, "sha256": hashlib.sha256(raw).hexdigest()})
        if doc is None:
            return None
        if not isinstance(doc, dict):
            self.errors.append(ConfigError("a vars file must be a mapping of variables", file=file,
                                           line=getattr(doc, "line", None) or 1))
            return None
        bad = vault_errors(doc, file)
        if bad:
            self.errors.extend(bad)
            return None
        col = Collector(file)
        data, key_map = ansible_vars_to_native(
            doc, col, lambda k, msg: col.add(msg, line_of(doc, (k,)), str(k)))
        if kind == "group":
            data.get("vars", {}).pop("ansible_group_priority", None)   # inventory sources only
        layer = Layer(kind, name, data, (), root=doc, key_map=key_map)
        valid = validate_layer(layer, col)
        self.errors.extend(col.errors)
        return valid if not col.errors else None

    def layers(self, kind: str, name: str, folder: Path) -> list[dict]:
        """The validated native layers of one group or host in one folder, in file order."""
        key = (kind, name, folder)
        if key not in self._cache:
            subdir = "group_vars" if kind == "group" else "host_vars"
            out = []
            for path in vars_files(folder, subdir, name):
                data = self._load(path, kind, name)
                if data:
                    out.append(data)
            self._cache[key] = out
        return self._cache[key]

    def group_chain(self, host_groups: list[str]) -> list[dict]:
        """all (each folder), then each folder's files of the host's groups (sorted as Ansible
        sorts them: ``host_groups`` is in that order)."""
        chain = [d for folder in self.dirs for d in self.layers("group", "all", folder)]
        for folder in self.dirs:
            for g in host_groups:
                chain.extend(self.layers("group", g, folder))
        return chain

    def host_chain(self, name: str) -> list[dict]:
        return [d for folder in self.dirs for d in self.layers("host", name, folder)]


def vars_dirs(inventory_dir: str | None, ansible_dirs: tuple | list = ()) -> VarsDirs | None:
    """The inventory's folder, then the playbook folders (``--ansible-dir``); None when none of
    them has a group_vars/ or host_vars/ folder."""
    dirs = [d for d in ([inventory_dir] if inventory_dir else []) + list(ansible_dirs or ())]
    found = [d for d in dirs if any((Path(d) / s).is_dir() for s in ("group_vars", "host_vars"))]
    if not found:
        return None
    return VarsDirs(found, inventory_dir)
