"""The layer merge: validated layers -> ``Host`` objects, with one precedence for every format::

    defaults  <  groups (parents before children, in declaration order)  <  host

Ansible inventories (``ansible=True``) order a host's groups as Ansible does (depth below
``all``, then ``ansible_group_priority``, then name), and put the group_vars/ and host_vars/
files (``ansible_vars.VarsDirs``) where Ansible puts them: group files above every inventory
group, host files above the inventory's host vars.

Group membership is resolved here (children lists, a host's ``groups``, Ansible's hosts declared
inside a group), including the ancestors of each group; cycles and unknown groups are errors.
"""

from __future__ import annotations

from typing import Any, Callable

from hardencheck.inventory.model import Host, check_address, check_name, expand_path, parse_jump
from hardencheck.inventory.schema import validate_layer
from hardencheck.inventory.source import Collector, Layer
from hardencheck.yaml_source import dotted, line_of


def _str_list(v: Any) -> list:
    """The names of a (not yet validated) list; non-strings as None (reported elsewhere)."""
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        return []
    return [x if isinstance(x, str) else None for x in v]


def _group_order(groups: dict[str, Layer], parents: dict[str, list[str]], col: Collector,
                 where: Callable[[str], tuple[int | None, str | None]]) -> list[str]:
    """Parents before children; declaration order otherwise. Cycles are errors."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(g: str, stack: list[str]) -> None:
        if state.get(g) == 2:
            return
        if state.get(g) == 1:
            line, fld = where(g)
            col.add("group cycle: " + " -> ".join(stack[stack.index(g):] + [g]), line, fld)
            return
        state[g] = 1
        for p in sorted(parents.get(g, []), key=lambda x: groups[x].order):
            visit(p, stack + [g])
        state[g] = 2
        order.append(g)

    for g in sorted(groups, key=lambda x: groups[x].order):
        visit(g, [])
    return order


def build_hosts(file: str | None, base_dir: str | None, defaults: list[Layer],
                groups: dict[str, Layer], hosts: list[Layer], group_hosts: dict[str, list[str]],
                col: Collector, special_groups: tuple[str, ...] = (), ansible: bool = False,
                vars_dirs: Any = None) -> list[Host]:
    """Validate every layer, resolve group membership and merge the layers into Hosts.

    ``group_hosts``: group -> host names declared inside the group (Ansible); native hosts name
    their groups themselves.
    """
    valid: dict[int, dict] = {}
    for layer in defaults + list(groups.values()) + hosts:
        data = validate_layer(layer, col)
        if data is not None:
            valid[id(layer)] = data

    # parents of each group (from the children lists)
    parents: dict[str, list[str]] = {g: [] for g in groups}
    for g, layer in groups.items():
        for i, c in enumerate(_str_list(layer.data.get("children"))):
            if c is None:
                continue
            if c not in groups:
                col.at(layer, ("children", i), f"unknown group {c!r}")
            elif g not in parents[c]:
                parents[c].append(g)

    def group_where(g: str):
        lay = groups[g]
        return (line_of(lay.root, lay.path) if lay.root is not None else lay.line,
                dotted(lay.path))

    order = _group_order(groups, parents, col, group_where)
    rank = {g: i for i, g in enumerate(order)}
    if ansible:
        depth: dict[str, int] = {}
        for g in order:         # parents first
            depth[g] = 1 + max((depth.get(p, 0) for p in parents.get(g, [])), default=0)
        rank = {g: (depth[g], groups[g].priority, g) for g in order}

    # merge host layers with the same name (Ansible hosts can appear in several groups)
    merged_hosts: dict[str, list[Layer]] = {}
    for h in hosts:
        merged_hosts.setdefault(h.name, []).append(h)
    member_of: dict[str, list[str]] = {h: [] for h in merged_hosts}
    for g, names in group_hosts.items():
        for n in names:
            if g not in member_of[n]:
                member_of[n].append(g)
    for name, layers in merged_hosts.items():
        for layer in layers:
            for i, g in enumerate(_str_list(layer.data.get("groups"))):
                if g is None:
                    continue
                if g not in groups:
                    col.at(layer, ("groups", i), f"unknown group {g!r}")
                elif g not in member_of[name]:
                    member_of[name].append(g)

    col.raise_if_any()

    out = []
    for name, layers in merged_hosts.items():
        # all groups incl. ancestors
        closure: set[str] = set()
        todo = list(member_of[name])
        while todo:
            g = todo.pop()
            if g not in closure:
                closure.add(g)
                todo.extend(parents.get(g, []))
        host_groups = sorted(closure, key=lambda g: rank[g])
        chain = ([valid[id(d)] for d in defaults] + [valid[id(groups[g])] for g in host_groups]
                 + (vars_dirs.group_chain(host_groups) if vars_dirs else [])
                 + [valid[id(h)] for h in layers]
                 + (vars_dirs.host_chain(name) if vars_dirs else []))
        err_layer = layers[-1]
        try:
            out.append(merge_host(name, chain, host_groups, special_groups, base_dir))
        except ValueError as e:
            col.at(err_layer, (), str(e))
    if vars_dirs:
        col.errors.extend(vars_dirs.errors)
    col.raise_if_any()
    return out


def merge_host(name: str, chain: list[dict], host_groups: list[str], special: tuple[str, ...],
               base_dir: str | None) -> Host:
    """One host from its validated layers (``chain``, lowest precedence first)."""
    h = Host(name=name, address=name)
    explicit: set[str] = set()
    own_tags: list[str] = []
    for data in chain:
        for key, value in data.items():
            if key in ("tags",):
                own_tags += [t for t in value if t not in own_tags]
            elif key == "vars":
                h.vars.update(value)
            elif key == "params":
                for cid, params in value.items():
                    h.params.setdefault(cid, {}).update(params)
            elif key in ("children", "groups"):
                pass
            elif key == "identity_file":
                h.identity_files = [expand_path(p, base_dir) for p in value]
                explicit.add("identity_files")
            elif key == "known_hosts_file":
                h.known_hosts_files = [expand_path(p, base_dir) for p in value]
                explicit.add("known_hosts_files")
            elif key == "jump":
                h.jump = parse_jump(value)
                explicit.add("jump")
            else:
                setattr(h, key, value)
                explicit.add(key)
    check_name(name, "host name")
    if "address" not in explicit:
        check_address(name)
    groups = [g for g in host_groups if g not in special]
    h.groups = groups
    h.tags = own_tags + [g for g in groups if g not in own_tags]
    h.explicit = explicit
    if h.transport == "local":
        h.jump = []
    return h
