"""The native inventory format: YAML with ``defaults`` / ``groups`` / ``hosts``.

::

    defaults: {user: audit, become: true}
    groups:
      web: {tags: [dmz], children: [edge]}
      edge: {user: edge-audit}
    hosts:
      web1: {address: 198.51.100.7, groups: [web]}

The keys of each block are the native keys of ``schema.py``; a group lists its ``children``, a
host the ``groups`` it belongs to.
"""

from __future__ import annotations

from typing import Any

from hardencheck.inventory.merge import build_hosts
from hardencheck.inventory.model import Host
from hardencheck.inventory.source import Collector, Layer, check_key_name
from hardencheck.yaml_source import SourceDict, dotted, line_of

NAME = "native"
_KEYS = {"defaults", "groups", "hosts"}


def claims(doc: SourceDict) -> bool:
    """A YAML document with only native top-level keys, at least ``hosts`` or ``defaults``."""
    keys = set(doc)
    return keys <= _KEYS and ("hosts" in keys or "defaults" in keys)


def load(text: str, doc: SourceDict, file: str, base_dir: str) -> list[Host]:
    col = Collector(file)
    for key in doc:
        if key not in ("defaults", "groups", "hosts"):
            col.add(f"unknown key {key!r} (expected defaults, groups, hosts)",
                    line_of(doc, [key]), str(key))
    if "hosts" not in doc:
        col.add("the inventory has no 'hosts'", doc.line, "hosts")

    def mapping(key: str) -> dict:
        v = doc.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            col.add("must be a mapping", line_of(doc, [key]), key)
            return {}
        return v

    defaults = []
    if "defaults" in doc:
        d = mapping("defaults")
        defaults.append(Layer("defaults", "defaults", d, ("defaults",), root=doc))
    groups: dict[str, Layer] = {}
    for i, (g, body) in enumerate(mapping("groups").items()):
        if not check_key_name(g, ("groups", g), doc, col, "group name"):
            continue
        body = _body(body, ("groups", g), doc, col)
        groups[g] = Layer("group", g, body, ("groups", g), root=doc, order=i)
    hosts = []
    for i, (n, body) in enumerate(mapping("hosts").items()):
        if not check_key_name(n, ("hosts", n), doc, col, "host name"):
            continue
        body = _body(body, ("hosts", n), doc, col)
        hosts.append(Layer("host", n, body, ("hosts", n), root=doc, order=i))
    if "hosts" in doc and not hosts and not col.errors:
        col.add("the inventory has no hosts", line_of(doc, ["hosts"]), "hosts")
    return build_hosts(file, base_dir, defaults, groups, hosts, {}, col)


def _body(body: Any, path: tuple, root: Any, col: Collector) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        col.add("must be a mapping", line_of(root, path), dotted(path))
        return {}
    return body

