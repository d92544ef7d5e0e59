"""``--limit``: choosing hosts of an inventory by name or group, with globs and exclusions."""

from __future__ import annotations

import fnmatch

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory.model import Host, Inventory


def limit_hosts(inv: Inventory, patterns: list[str]) -> list[Host]:
    """``--limit web1,db*,prod,!db3``: fnmatch on host names and on group names.

    A leading ``!`` excludes. A pattern that matches no host and no group is an error (a typo
    must not silently shrink the scan).
    """
    pats = [p.strip() for item in patterns for p in item.split(",") if p.strip()]
    if not pats:
        return list(inv.hosts)
    include = [p for p in pats if not p.startswith("!")]
    exclude = [p[1:] for p in pats if p.startswith("!")]

    def matches(h: Host, pat: str) -> bool:
        return fnmatch.fnmatchcase(h.name, pat) or any(
            fnmatch.fnmatchcase(g, pat) for g in h.groups)

    errors = []
    for pat in include + exclude:
        if not any(matches(h, pat) for h in inv.hosts):
            errors.append(ConfigError(f"--limit {pat!r} matches no host and no group",
                                      file=inv.path, field="limit"))
    if errors:
        raise ConfigErrors(errors)
    selected = [h for h in inv.hosts if not include or any(matches(h, p) for p in include)]
    return [h for h in selected if not any(matches(h, p) for p in exclude)]
