"""The JSON of ``ansible-inventory -i ANY --list`` (and of dynamic inventory scripts) as an
inventory: the way every dynamic inventory and cloud plugin is exported. The file is read, never
run.

::

    {"_meta": {"hostvars": {"web1": {"ansible_host": "10.0.0.7"}}},
     "all": {"children": ["ungrouped", "web"]},
     "web": {"hosts": ["web1"], "vars": {"ansible_become": true}, "children": []}}

Groups have ``hosts`` and ``children`` as lists of names and ``vars`` (with ``--export``);
``_meta.hostvars`` holds each host's variables (without ``--export``: already merged with its
groups' and the vars files'). Values go through the same Ansible variable mapping as the other
Ansible formats, and group_vars/ and host_vars/ beside the file apply as well.
"""

from __future__ import annotations

from hardencheck.inventory.ansible_common import AnsibleBuilder
from hardencheck.inventory.model import Host
from hardencheck.inventory.source import Collector, check_key_name
from hardencheck.yaml_source import SourceDict, dotted, line_of

NAME = "ansible-json"
_GROUP_KEYS = ("hosts", "children", "vars")


def claims(doc: SourceDict) -> bool:
    """``_meta`` at the top, or a group whose ``hosts`` or ``children`` is a list."""
    if "_meta" in doc:
        return True
    return any(isinstance(v, dict) and isinstance(v.get("hosts", v.get("children")), list)
               for v in doc.values())


def _names(body: dict, key: str, path: tuple, doc, col: Collector) -> list:
    v = body.get(key)
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        col.add("must be a list of names", line_of(doc, path + (key,)), dotted(path + (key,)))
        return []
    return v


def load(text: str, doc: SourceDict, file: str, base_dir: str, vars_dirs=None) -> list[Host]:
    col = Collector(file)
    b = AnsibleBuilder(col, root=doc)
    meta = doc.get("_meta") or {}
    hostvars = meta.get("hostvars") if isinstance(meta, dict) else None
    if hostvars is None:
        hostvars = {}
    if not isinstance(hostvars, dict):
        col.add("must be a mapping of host names", line_of(doc, ("_meta", "hostvars")),
                "_meta.hostvars")
        hostvars = {}
    seen: set[str] = set()
    for gname, body in doc.items():
        if gname == "_meta":
            continue
        path = (gname,)
        if not check_key_name(gname, path, doc, col, "group name"):
            continue
        if body is None:
            body = {}
        if not isinstance(body, dict):
            col.add("a group must be a mapping with hosts, children, vars", line_of(doc, path),
                    dotted(path))
            continue
        for key in body:
            if key not in _GROUP_KEYS:
                col.add(f"unknown key {key!r} in a group (expected hosts, children, vars)",
                        line_of(doc, path + (key,)), dotted(path + (key,)))
        layer = b.group(gname, path, line_of(doc, path))
        vars_ = body.get("vars")
        if vars_ is not None:
            if isinstance(vars_, dict):
                b.add_vars(layer, vars_, path + ("vars",))
            else:
                col.add("must be a mapping", line_of(doc, path + ("vars",)), dotted(path + ("vars",)))
        for child in _names(body, "children", path, doc, col):
            b.group(child, (child,), None)
            if gname != "all" and child not in b.children[gname]:
                b.children[gname].append(child)
        group = gname if gname not in ("all",) else None
        for i, hname in enumerate(_names(body, "hosts", path, doc, col)):
            if hname in seen:
                if group and hname not in b.group_hosts[group]:
                    b.group_hosts[group].append(hname)
                continue
            seen.add(hname)
            hv = hostvars.get(hname) or {}
            hpath = ("_meta", "hostvars", hname) if hname in hostvars else path + ("hosts", i)
            if not isinstance(hv, dict):
                col.add("must be a mapping of variables", line_of(doc, hpath), dotted(hpath))
                continue
            b.host(hname, hv, hpath, group, literal=True)
    for hname in hostvars:
        if hname not in seen:
            col.add(f"host {hname!r} has variables but is in no group (Ansible ignores it too): "
                    "list it in a group's hosts", line_of(doc, ("_meta", "hostvars", hname)),
                    dotted(("_meta", "hostvars", hname)))
    return b.finish(file, base_dir, vars_dirs)
