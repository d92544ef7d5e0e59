"""Ansible YAML inventories as they are: ``all:`` (or top-level groups) with ``hosts`` /
``children`` / ``vars``, Ansible variables mapped to native keys (``ansible_common.py``).
"""

from __future__ import annotations

from typing import Any

from hardencheck.inventory.ansible_common import AnsibleBuilder
from hardencheck.inventory.model import Host
from hardencheck.inventory.source import Collector, check_key_name
from hardencheck.yaml_source import SourceDict, dotted, line_of

NAME = "ansible-yaml"
_GROUP_KEYS = {"hosts", "children", "vars"}


def claims(doc: SourceDict) -> bool:
    """``all:`` at the top, or top-level groups made only of hosts / children / vars."""
    if "all" in doc:
        return True
    return bool(doc) and all(isinstance(v, dict) and set(v) <= _GROUP_KEYS
                             for v in doc.values()) and any(
        isinstance(v, dict) and set(v) & {"hosts", "children"} for v in doc.values())


def load(text: str, doc: SourceDict, file: str, base_dir: str, vars_dirs=None) -> list[Host]:
    col = Collector(file)
    b = AnsibleBuilder(col, root=doc)

    def walk(gname: Any, body: Any, path: tuple, parent: str | None, depth: int) -> None:
        if not check_key_name(gname, path, doc, col, "group name"):
            return
        if depth > 50:
            col.add("groups nested too deeply", line_of(doc, path), dotted(path))
            return
        layer = b.group(gname, path, line_of(doc, path))
        if parent and parent != "all" and gname not in b.children[parent]:
            b.children[parent].append(gname)
        if body is None:
            return
        if not isinstance(body, dict):
            col.add("a group must be a mapping", line_of(doc, path), dotted(path))
            return
        for key in body:
            if key not in ("hosts", "vars", "children"):
                col.add(f"unknown key {key!r} in a group (expected hosts, vars, children)",
                        line_of(doc, path + (key,)), dotted(path + (key,)))
        vars_ = body.get("vars")
        if vars_ is not None:
            if isinstance(vars_, dict):
                b.add_vars(layer, vars_, path + ("vars",))
            else:
                col.add("must be a mapping", line_of(doc, path + ("vars",)),
                        dotted(path + ("vars",)))
        hosts = body.get("hosts")
        if hosts is not None:
            if isinstance(hosts, dict):
                for entry, hvars in hosts.items():
                    hp = path + ("hosts", entry)
                    if hvars is None:
                        hvars = {}
                    if not isinstance(hvars, dict) or not isinstance(entry, str):
                        col.add("a host must be a mapping of variables", line_of(doc, hp),
                                dotted(hp))
                        continue
                    b.host(entry, hvars, hp, gname if gname != "all" else None)
            else:
                col.add("must be a mapping of host names", line_of(doc, path + ("hosts",)),
                        dotted(path + ("hosts",)))
        children = body.get("children")
        if children is not None:
            if isinstance(children, dict):
                for child, cbody in children.items():
                    walk(child, cbody, path + ("children", child), gname, depth + 1)
            else:
                col.add("must be a mapping of group names", line_of(doc, path + ("children",)),
                        dotted(path + ("children",)))

    for g, body in doc.items():
        walk(g, body, (g,), None, 0)
    return b.finish(file, base_dir, vars_dirs)
